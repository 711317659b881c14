"""`platform: kubernetes`: the pipeline as a sibling builder over the same settings (docs/kubernetes.md).

One file per service, as on Docker: `namespace.py` (provider, namespace, the platform stack's reference),
`strimzi.py` (Kafka, its node pool and the topic), `kafka_ui.py` (its chart), `generator.py` (image and
Deployment); `stack.py` puts them together; `platform_stack.py` is the once-per-cluster program under
`platform/` (the Strimzi operator). This package imports pulumi_kubernetes; the Docker path never imports it.
"""
