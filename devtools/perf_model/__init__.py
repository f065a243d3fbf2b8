"""The latency, cost and capacity model: memory per function from measured CPU
(docs/performance.md), cost per 1,000 journeys (docs/cost.md), the capacity plan
(docs/capacity.md). `make bench` measures (benchmarks/test_cost_model.py) and writes them."""
