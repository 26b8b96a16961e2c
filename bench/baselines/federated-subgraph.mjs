#!/usr/bin/env node
/**
 * The stateful subgraph of the federated baseline: the same graphql-ws server as baseline 2
 * (one async iterator per subscription, events from NATS), here holding one subscription per
 * gateway connection.
 */
import "./graphql-ws-server.mjs";
