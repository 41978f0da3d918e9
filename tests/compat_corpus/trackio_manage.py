"""trackio's run management (Api run.rename/move/delete, delete_project) on trackio_nb, via compat.install.

Prints `OBS <json>`; tests/test_compat_corpus.py checks it and what is left stored.
"""

import json
from pathlib import Path

import trackio_nb.compat

trackio_nb.compat.install("trackio")

import trackio  # noqa: E402

for name in ("keep", "second"):
    trackio.init(project="corpus", name=name, embed=False)
    trackio.log({"loss": 1.0})
    trackio.finish()
trackio.init(project="csv-project-copy", embed=False)
Path("notes.txt").write_text("saved")
files = Path(trackio.save("notes.txt"))
trackio.finish()

api = trackio.Api()
obs = {}
renamed = api.runs("corpus")[1].rename("second-renamed")
obs["renamed"] = renamed.name
obs["moved"] = api.runs("corpus")[1].move("corpus-moved")
obs["runs_after_move"] = [r.name for r in api.runs("corpus")]
obs["moved_runs"] = [r.name for r in api.runs("corpus-moved")]
obs["deleted"] = api.runs("corpus-moved")[0].delete()
obs["delete_missing_project"] = trackio.delete_project("never-existed", force=True)
obs["delete_csv_project"] = trackio.delete_project("csv-project-copy", force=True)
obs["saved_files_removed"] = [files.name, files.exists()]
print("OBS " + json.dumps(obs))
