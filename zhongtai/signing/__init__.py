"""Signing keys, the provincial certificate authority and SM2/SM3 signatures (签名与证书)."""
