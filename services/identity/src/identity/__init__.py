"""VirtualCoworking identity: users, profiles, passwords, tokens and the JWKS."""
