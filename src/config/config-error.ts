/** A configuration value that was refused; the message always names the file and the key. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly key: string,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`config error in ${file}: ${key}: ${problem}`, options);
    this.name = 'ConfigError';
  }
}
