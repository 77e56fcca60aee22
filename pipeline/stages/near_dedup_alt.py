"""Stage ``near_dedup_alt``: a second near-dedup pass on the first one's output (SantaCoder's "more near-dedup").

Why a stage of its own: the paper ran dedup-alt (word 5-grams, 256 perms,
0.7) on top of the base data, which stack-v1 near-dedup had already deduped,
so ``santacoder`` and the ``+dedup-alt`` ablation add this pass after
``near_dedup`` instead of replacing it, and its removals get their own stage
name in the ledger, in stats.json and in the ablation's ``filter_removed``.
Same config, core and verdicts as ``near_dedup`` (:mod:`pipeline.stages.near_dedup`),
whose defaults are dedup-alt's.
"""

from __future__ import annotations

import apache_beam as beam

from pipeline.stages.base import StageContext, StageSpec
from pipeline.stages.near_dedup import SPEC as NEAR_DEDUP
from pipeline.stages.near_dedup import NearBatchVerdicts, NearDedupConfig

STAGE = "near_dedup_alt"


def verdicts(config: NearDedupConfig, ctx: StageContext) -> beam.PTransform:
    return NearBatchVerdicts(config, stage=STAGE, schema=ctx.input_schema)


SPEC = StageSpec(
    name=STAGE, config=NearDedupConfig, verdicts=verdicts, setup_on_node=NEAR_DEDUP.setup_on_node
)
