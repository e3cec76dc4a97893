"""Prints a line (with characters that need HTML escaping) and exits with code 3."""

import sys

print("starting... <script>alert('x')</script> & goodbye", flush=True)
sys.exit(3)
