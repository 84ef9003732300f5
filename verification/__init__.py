"""Public verification (查验) and the reimbursing parties' service interface (公共服务).

- the public page ``/verify/`` (no login): the three elements and a captcha, or the QR link
  printed on every layout file; throttled per client and per receipt;
- the signed API under ``/api/v1/public/`` for reimbursing parties (报销/入账单位): verify a
  receipt they hold, record and cancel reimbursement and book entries (报销/入账记录).

docs/verification.md describes both; docs/user-guide/public.md is the public's guide.
"""
