#!/usr/bin/env bash
# The browser the browser tests drive: Debian's chromium (/usr/bin/chromium), or the one named by
# EREC_CHROMIUM. Installed when missing and we are root; otherwise a clear message and exit 1.
# Playwright's own browser download (`playwright install`) is deliberately not used.
set -u
BROWSER=${EREC_CHROMIUM:-/usr/bin/chromium}
if [ -x "$BROWSER" ]; then
  exit 0
fi
if [ -z "${EREC_CHROMIUM:-}" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium (for the browser tests)..."
  apt-get update -qq >/dev/null 2>&1 || true
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    && [ -x "$BROWSER" ]; then
    exit 0
  fi
fi
echo "未找到浏览器测试所需的 Chromium（$BROWSER）：请安装 Debian 的 chromium（sudo apt-get install chromium），"
echo "或用 EREC_CHROMIUM 指向一个 Chromium 可执行文件。"
echo "Chromium for the browser tests not found at $BROWSER: install Debian's chromium"
echo "(sudo apt-get install chromium) or set EREC_CHROMIUM to a Chromium executable."
exit 1
