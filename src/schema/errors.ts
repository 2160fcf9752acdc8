/** A config file (or a reloaded one) the adapter refuses; the message names the field. */
export class ConfigError extends Error {}

/** Command-line flags the adapter refuses; the message names the flag. */
export class FlagError extends Error {}
