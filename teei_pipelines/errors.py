"""Errors that carry a message a user can act on, instead of a stack trace from deep inside a library."""


class ConfigError(ValueError):
    """A configuration value is missing or malformed. The message names the environment variable."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


class ServiceUnavailableError(RuntimeError):
    """A configured service (PostgreSQL, ClickHouse, NATS) could not be reached."""


class MigrationError(RuntimeError):
    """The migration ledger disagrees with the files on disk."""
