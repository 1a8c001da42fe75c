"""FSDP2 + LoRA + a reference with the adapters off (prefdata/train/startup.py), reproduced on CPU.

The failure was seen on an H200 under ``accelerate launch --config_file train/accelerate/fsdp.yaml ...
prefdata train dpo``. Here one process shards a tiny Llama with FSDP2 on a gloo CPU mesh under a bf16
mixed-precision policy, as accelerate does on a GPU, and runs DPO's pattern: a no-grad forward with the
adapters disabled, then a training forward and backward. Each case runs in its own interpreter, so the
process group never leaks into other tests.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

SCRIPT = textwrap.dedent(
    """
    import sys, tempfile, torch, torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
    from transformers import LlamaConfig, LlamaForCausalLM
    from peft import LoraConfig, get_peft_model
    from prefdata.train.startup import first_forward_with_adapters

    dist.init_process_group("gloo", init_method="file://" + tempfile.mktemp(), rank=0, world_size=1)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))  # fp32 adapters
    mesh = init_device_mesh("cpu", (1,))
    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16)
    for layer in model.base_model.model.model.layers:
        fully_shard(layer, mesh=mesh, mp_policy=policy)
    fully_shard(model, mesh=mesh, mp_policy=policy)
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    if sys.argv[1] == "warm-up":
        first_forward_with_adapters(model, device="cpu", token_id=1, autocast=autocast)
    x = torch.randint(0, 128, (2, 16))
    for _ in range(2):
        with torch.no_grad(), model.disable_adapter(), autocast():
            model(input_ids=x)  # the reference: the policy with its adapters off
        with autocast():
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
    grads = {p.grad.dtype for p in model.parameters() if p.grad is not None}
    print("OK", sorted(str(g) for g in grads))
    dist.destroy_process_group()
    """
)


def _run(case: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, case], capture_output=True, text=True, timeout=300, check=False)


def test_without_the_warm_up_fsdp_fails_as_seen_on_the_gpu():
    """Guards the reproduction itself: if a torch/PEFT release fixes this, the test says so."""
    proc = _run("none")
    assert proc.returncode != 0
    assert "attempting to assign a gradient with dtype" in proc.stderr


def test_the_warm_up_lets_dpo_train_with_fp32_adapters():
    proc = _run("warm-up")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "OK ['torch.float32']" in proc.stdout


@pytest.mark.parametrize(
    ("lora", "ref_model", "fsdp", "warm_up"),
    [
        (True, None, True, True),  # the one case: LoRA, the reference is the policy with its adapters off, FSDP
        (True, "separate", True, False),  # a separate reference model: no adapters-off pass through the policy
        (False, None, True, False),  # full fine-tuning: no adapters to switch off
        (True, None, False, False),  # no FSDP
        (True, None, None, False),  # a trainer without is_fsdp_enabled
    ],
)
def test_the_warm_up_is_needed_only_with_fsdp_lora_and_no_separate_reference(lora, ref_model, fsdp, warm_up):
    """startup.py needs_fsdp_warm_up: "FSDP with LoRA and no separate reference model: the case
    first_forward_with_adapters fixes". Stand-in trainers (attributes only)."""
    from types import SimpleNamespace

    from prefdata.train.startup import needs_fsdp_warm_up

    trainer = SimpleNamespace(ref_model=None if ref_model is None else object())
    if fsdp is not None:
        trainer.is_fsdp_enabled = fsdp
    assert needs_fsdp_warm_up(trainer, lora=lora) is warm_up
