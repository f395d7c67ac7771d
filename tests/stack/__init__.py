"""Tests of `csflow up`: the supervisor with dummy children, then the real stack."""
