"""Helpers that tests and benchmarks share: real engines on this machine (tansu, chdb), the Pulumi program
under mocks, the wire contract's checks, a TCP proxy to cut. Development only: not part of the deployed
package; tests and `python -m bench` import it from the repository root."""
