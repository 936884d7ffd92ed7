"""Shared test support: local servers (OpenBao, moto, HTTPS verification endpoints), git repositories, report
factories and schema validators."""
