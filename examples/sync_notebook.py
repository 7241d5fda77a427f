# %% [markdown]
# # eoclient without `await`: a notebook
#
# `eoclient.sync` is the same API as `eoclient` with no `async`/`await`: each client runs
# its event loop in a background thread, so these cells work in a plain script, in a
# REPL and in Jupyter (where a loop already runs). The `# %%` lines are cells: open this
# file in VS Code or JupyterLab (jupytext), or run it whole with
# `python examples/sync_notebook.py`. Credentials come from `SH_CLIENT_ID` /
# `SH_CLIENT_SECRET` or the config file; files go to `notebook-output/` here.
#
# Needs `pip install 'eoclient[examples]'` (xarray and pandas for the tables and arrays,
# s3 to read what the Batch request delivers).

# %%
from pathlib import Path

from eo_requests import batch_request, render_request

import eoclient.sync

OUT = Path("notebook-output")
BBOX = [12.0, 44.0, 17.0, 48.0]  # around Ljubljana, WGS84
sh = eoclient.sync.SentinelHub()  # one client for the whole notebook; sh.close() at the end

# %% [markdown]
# ## Scenes: a Catalog search is a plain iterator

# %%
scenes = sh.catalog.search(
    "sentinel-2-l2a", bbox=BBOX, datetime=("2023-05-01", "2023-08-31"), filter="eo:cloud_cover < 50"
).collect()
for scene in scenes:
    print(scene.id, scene.datetime, scene.properties["eo:cloud_cover"])

# %% [markdown]
# ## One scene as an array with coordinates (xarray), and as a PNG on disk

# %%
clearest = min(scenes, key=lambda s: s.properties["eo:cloud_cover"])
day = clearest.datetime.date()
image = sh.process(render_request(clearest.bbox, day, size=256, fmt="image/tiff")).to_xarray()
print(dict(image.sizes), "x from", float(image.x[0]), "y from", float(image.y[0]))
png = sh.process_to_file(render_request(clearest.bbox, day, size=256), OUT / f"{clearest.id}.png")
print(png.size, "bytes,", png.processing_units, "PU")

# %% [markdown]
# ## Statistics over the summer as a table (pandas)

# %%
NDVI = """//VERSION=3
function setup() {
  return {input: ["B04", "B08", "dataMask"],
          output: [{id: "ndvi", bands: 1, sampleType: "FLOAT32"}, {id: "dataMask", bands: 1}]};
}
function evaluatePixel(s) { return {ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)], dataMask: [s.dataMask]}; }
"""
summer = {"from": "2023-05-01T00:00:00Z", "to": "2023-09-01T00:00:00Z"}
stats = sh.statistics(
    {
        "input": {"bounds": {"bbox": [14.40, 46.03, 14.52, 46.10]}, "data": [{"type": "sentinel-2-l2a"}]},
        "aggregation": {
            "timeRange": summer,
            "aggregationInterval": {"of": "P30D"},
            "evalscript": NDVI,
            "resx": 0.001,
            "resy": 0.001,
        },
    }
)
table = stats.to_pandas()
print(table.query("statistic == 'mean'")[["interval_from", "output", "band", "value"]].to_string())

# %% [markdown]
# ## A Batch request: watch it with a `for` loop, then download what it delivered

# %%
spec = batch_request(
    [13.8, 45.8, 14.0, 46.0], day, day, bucket="my-bucket/notebook", description="sync_notebook.py"
)
job = sh.batch.run(spec)
for status in job.watch():
    print(status.raw, status.progress)
report = job.download(OUT / "batch")
print(len(report.downloaded), "files,", report.bytes, "bytes")

# %%
sh.close()
