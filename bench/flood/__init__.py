"""A flooding reader during a broadcast (issue 13, finding 2): see ``__main__``."""
