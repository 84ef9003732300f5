"""The national platform simulator (全国财政电子票据平台模拟器).

A separate small service, with nothing of Django: a standard library HTTP server and its own
SQLite file. It speaks the contract of docs/national.md: it checks the signed requests of a
province, checks and stores the events it receives (an ``issued`` event's data file is verified
as the national platform would), answers cross-province lookups and reconciliation, and can be
told to fail, time out, answer slowly or lose its answers (the control interface, for tests and
demos). ``python -m natsim --help`` lists its commands.
"""
