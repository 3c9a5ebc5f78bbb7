"""The six providers: their OAuth endpoints, scopes and token shapes (``registry``), and what a
connected integration of each type does (one module per provider)."""
