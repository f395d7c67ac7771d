"""Encryption of everything csflow hands to Temporal: a key ring, a payload codec, and the
codec server that lets the Temporal UI and CLI decode for people allowed to read it."""
