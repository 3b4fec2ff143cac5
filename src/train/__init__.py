"""Training's own parts (the loop's helpers); ``src/engine.py`` composes them."""
