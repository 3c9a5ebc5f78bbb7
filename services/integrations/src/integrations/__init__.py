"""The integrations service: (what this service owns, in one line)"""
