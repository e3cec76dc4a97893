"""The pure core shared by the hub, the service and the proxy.

Nothing here does I/O beyond reading entry points, and nothing imports the three runtime contexts.
"""
