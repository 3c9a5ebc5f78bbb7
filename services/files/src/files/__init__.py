"""The files service: (what this service owns, in one line)"""
