{
  // Strings that YAML 1.1 would read as booleans or numbers stay strings in the rendered YAML.
  settings(env):: {
    environment: env,
    debug: if env == 'dev' then 'yes' else 'no',
    version: '1.0',
  },
}
