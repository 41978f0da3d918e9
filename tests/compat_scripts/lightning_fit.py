"""Lightning fit + validate on a 2-layer module with random tensors, logged by TrackioNbLogger.

argv[1] = "ok": fit 2 epochs then validate; "raise": the training step raises at batch 3;
"nan": the loss turns NaN at step 2, a NaN watcher and TrackioNbStopping end fit early.
"""

import sys

import lightning as L
import torch
from torch import nn

from trackio_nb.integrations.lightning import TrackioNbLogger, TrackioNbStopping

MODE = sys.argv[1]
torch.manual_seed(0)


class Tiny(L.LightningModule):
    def __init__(self, hidden: int = 8, lr: float = 0.05) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        if MODE == "raise" and self.global_step == 3:
            raise RuntimeError("boom in training_step")
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        if MODE == "nan" and self.global_step >= 2:
            loss = loss * float("nan")
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


x = torch.randn(32, 4)
data = torch.utils.data.TensorDataset(x, x.sum(dim=1, keepdim=True))
loader = torch.utils.data.DataLoader(data, batch_size=8)
watch = {"train_loss": dict(nan=True)} if MODE == "nan" else None
logger = TrackioNbLogger("lightning-compat", "tiny", config={"dataset": "random"}, watch=watch)
trainer = L.Trainer(
    max_epochs=2,
    logger=logger,
    callbacks=[TrackioNbStopping()],
    log_every_n_steps=1,
    accelerator="cpu",
    enable_progress_bar=False,
    enable_checkpointing=False,
    enable_model_summary=False,
)
trainer.fit(Tiny(), loader, loader)
print("GLOBAL_STEP", trainer.global_step)
trainer.validate(trainer.lightning_module, loader)
