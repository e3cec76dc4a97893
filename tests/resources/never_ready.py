"""Prints and sleeps forever without ever listening on its port."""

import time

print("never ready: not listening", flush=True)
while True:
    time.sleep(1)
