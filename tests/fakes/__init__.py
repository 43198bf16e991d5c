"""Test doubles that speak real HTTP: a fake Intercom checked against its OpenAPI spec."""
