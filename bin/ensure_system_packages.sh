#!/usr/bin/env bash
# Debian packages the platform needs beyond Python: a CJK TrueType font for the PDF layout
# files (fonts-wqy-zenhei). Installed when missing and we are root; otherwise a clear message.
set -u
FONT=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
if [ -f "$FONT" ] || [ -n "${EREC_CJK_FONT:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing the CJK font fonts-wqy-zenhei (for PDF receipts)..."
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null && exit 0
fi
echo "未找到中文字体：请安装 fonts-wqy-zenhei（sudo apt-get install fonts-wqy-zenhei），"
echo "或用 EREC_CJK_FONT 指向一个 TrueType 中文字体文件。"
echo "No CJK font found: install fonts-wqy-zenhei or set EREC_CJK_FONT to a TrueType CJK font."
exit 1
