"""Hugging Face Trainer runs on a tiny BERT (2 layers, hidden 32, random weights, 16 in-memory examples).

argv[1] = "report": report_to="trackio" after trackio_nb.compat.install("trackio"); train,
evaluate, predict, then exit without finishing the run (as Transformers leaves it).
"nan": TrackioNbCallback with a NaN watcher; the loss turns NaN at step 3.
"raise": TrackioNbCallback; the model raises at step 3 and the script dies of it.
"ipython": as "raise", but train() runs in an IPython cell (the process lives on); then a
compat run and an unrelated failing cell, and a clean exit.
"wandb": as "report", with report_to="wandb" after trackio_nb.compat.install("wandb").
argv[2]: output_dir.
"""

import sys

import torch

import trackio_nb.compat

MODE = sys.argv[1]
trackio_nb.compat.install("wandb" if MODE == "wandb" else "trackio")

from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments  # noqa: E402

torch.manual_seed(0)
REPORT = MODE in ("report", "wandb")


class Data(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(n)
        self.ids = torch.randint(5, 60, (n, 8), generator=g)
        self.labels = torch.randint(0, 2, (n,), generator=g)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(8, dtype=torch.long), "labels": self.labels[i]}


class NanAfter(BertForSequenceClassification):
    calls = 0

    def forward(self, **kwargs):
        out = super().forward(**kwargs)
        if self.training:
            NanAfter.calls += 1
            if NanAfter.calls >= 3 and MODE in ("raise", "ipython"):
                raise RuntimeError("boom at step 3")
            if NanAfter.calls >= 3:
                out.loss = out.loss * float("nan")
        return out


config = BertConfig(
    vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, num_labels=2
)
model = (BertForSequenceClassification if REPORT else NanAfter)(config)
args = TrainingArguments(
    output_dir=sys.argv[2],
    project="hf-compat",
    run_name=f"{MODE}-run",
    report_to={"report": "trackio", "wandb": "wandb"}.get(MODE, "none"),
    logging_nan_inf_filter=False,
    per_device_train_batch_size=4,
    per_device_eval_batch_size=4,
    num_train_epochs=2 if REPORT else 5,
    logging_steps=1,
    eval_strategy="epoch",
    save_strategy="no",
    learning_rate=1e-3,
    use_cpu=True,
    disable_tqdm=True,
    dataloader_num_workers=0,
    remove_unused_columns=False,
)
callbacks = []
if not REPORT:
    from trackio_nb.integrations.transformers import TrackioNbCallback

    callbacks.append(TrackioNbCallback(watch={"loss": dict(nan=True)}))
trainer = Trainer(model=model, args=args, train_dataset=Data(16), eval_dataset=Data(8), callbacks=callbacks)
if MODE == "ipython":
    from IPython.core.interactiveshell import InteractiveShell

    import trackio_nb

    shell = InteractiveShell.instance()
    shell.user_ns["trainer"] = trainer
    result = shell.run_cell("trainer.train()")
    print("CELL_ERROR", type(result.error_in_exec).__name__)
    print("STATUS_AFTER_CELL", trackio_nb.Api().run("hf-compat", "ipython-run").status)
    shell.run_cell(
        "import trackio; trackio.init(project='hf-compat', name='later', embed=False); trackio.log({'x': 1})"
    )
    shell.run_cell("1 / 0")
    sys.exit(0)
trainer.train()
print("GLOBAL_STEP", trainer.state.global_step)
if REPORT:
    trainer.evaluate()
    trainer.predict(Data(8))
import json  # noqa: E402

print("LOG_HISTORY", json.dumps(trainer.state.log_history))
