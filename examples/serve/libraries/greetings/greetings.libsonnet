// A library found through --library-path examples/serve/libraries, imported as 'greetings/greetings.libsonnet'.
{
  hello(name):: 'Hello, %s!' % name,
}
