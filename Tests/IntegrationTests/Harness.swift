// Integration tests against a real broker; see BrokerTests.
