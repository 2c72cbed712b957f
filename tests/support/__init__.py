"""Support code for the tests (no tests here): the CLI runner, a moto server on loopback, the local
emulator, ECS seed data and the workflow parser. Test modules import it as `support.<module>`."""
