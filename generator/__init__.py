"""The market-data generator: synthetic order-book reports sent to Kafka."""
