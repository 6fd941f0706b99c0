"""What the processes and instances of one deployment share: the shared cache and change announcements.

Below every app: ``audit``, ``clients`` and ``tokens`` use it, and it uses none of them.
"""
