"""Every code example in ../shared/seeds, run with ``wandb`` being localrun.

Each snippet is the seed's text, executed as it is with ``sys.modules["wandb"] = localrun`` (so
``import wandb`` inside a snippet imports localrun) and its free names (``image_array``,
``grads``, ``y_test``...) bound to small sample data. Where a seed elides code (``...``,
``# ...``, ``COLOR``) or has a typo that is not Python (an unclosed parenthesis), the snippet
below fills in the least possible, on a line marked ``# filled``. Then the run is read back
through ``localrun export`` and every file any value refers to must exist, be inside the run
directory and match its sha256.

Not run, and why:
- 004 ``api = wandb.Api(); run = api.run(...)``: the public API of wandb's server; localrun
  has no server to query.
- 004 the TensorFlow example (``tf.Session``, ``mnist.train``): TensorFlow 1 code, and its only
  logging call (``wandb.log({'acc': acc, 'loss': loss})``) is run below as a snippet.
- 004 ``wandb.log({“acc”:1, “global_step”:1})``: typographic quotes, not Python; run below
  with ASCII quotes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import localrun

from .readback import FIXTURES, export, file_of

SNIPPETS: dict[str, str] = {}


def snippet(name: str, code: str) -> None:
    SNIPPETS[name] = code.strip("\n")


# --- 000 (ko) and 002 (ja): the media logging guide -------------------------------------------

snippet(
    "000-image-array",
    """
images = wandb.Image(image_array, caption="Top: Output, Bottom: Input")
wandb.log({"examples": images})
""",
)

snippet(
    "000-pil-images",
    """
images = [PIL.Image.fromarray(image) for image in image_array_batch]  # filled: the batch has its own name here
wandb.log({"examples": [wandb.Image(image) for image in images]})
""",
)

snippet(
    "000-image-file",
    """
im = PIL.fromarray(...)
rgb_im = im.convert("RGB")
rgb_im.save("myimage.jpg")
wandb.log({"example": wandb.Image("myimage.jpg")})
""",
)

snippet(
    "000-masks",
    """
mask_data = np.array([[1, 2, 2, 2, 2, 1], [1, 1, 3, 3, 2, 1]])  # filled: the seed elides the rows
class_labels = {1: "tree", 2: "car", 3: "road"}
mask_img = wandb.Image(
image,
masks={
"predictions": {"mask_data": mask_data, "class_labels": class_labels},
"ground_truth": {
"mask_data": mask_data,  # filled: the seed elides this mask
},
# ...
},
)
wandb.log({"mask_img": mask_img})  # filled: the seed stops before logging
""",
)

snippet(
    "000-boxes",
    """
class_id_to_label = {
1: "car",
2: "road",
3: "building",
# ...
}
img = wandb.Image(
image,
boxes={
"predictions": {
"box_data": [
{
# one box expressed in the default relative/fractional domain
"position": {"minX": 0.1, "maxX": 0.2, "minY": 0.3, "maxY": 0.4},
"class_id": 2,
"box_caption": class_id_to_label[2],
"scores": {"acc": 0.1, "loss": 1.2},
# another box expressed in the pixel domain
# (for illustration purposes only, all boxes are likely
# to be in the same domain/format)
"position": {"middle": [150, 20], "width": 68, "height": 112},
"domain": "pixel",
"class_id": 3,
"box_caption": "a building",
"scores": {"acc": 0.5, "loss": 0.7},
# ...
# Log as many boxes an as needed
}
],
"class_labels": class_id_to_label,
},
# Log each meaningful group of boxes with a unique key name
"ground_truth": {
"box_data": [],  # filled: the seed elides this group
},
},
)
wandb.log({"driving_scene": img})
""",
)

snippet(
    "000-table-masks",
    """
table = wandb.Table(columns=["ID", "Image"])
for id, img, label in zip(ids, images, labels):
    mask_img = wandb.Image(
        img,
        masks={
            "prediction": {"mask_data": label, "class_labels": class_labels}
            # ...
        },
    )
    table.add_data(id, img)
wandb.log({"Table": table})
""",
)

snippet(
    "000-table-boxes",
    """
table = wandb.Table(columns=["ID", "Image"])
for id, img, boxes in zip(ids, images, boxes_set):
    box_img = wandb.Image(
        img,
        boxes={
            "prediction": {
                "box_data": [
                    {
                        "position": {
                            "minX": box["minX"],
                            "minY": box["minY"],
                            "maxX": box["maxX"],
                            "maxY": box["maxY"],
                        },
                        "class_id": box["class_id"],
                        "box_caption": box["caption"],
                        "domain": "pixel",
                    }
                    for box in boxes
                ],
                "class_labels": class_labels,
            }
        },
    )
""",
)

snippet(
    "000-histogram",
    """
wandb.log({"gradients": wandb.Histogram(grads)})
""",
)

snippet(
    "000-np-histogram",
    """
np_hist_grads = np.histogram(grads, density=True, range=(0.0, 1.0))
wandb.log({"gradients": wandb.Histogram(np_hist_grads)})
""",
)

snippet(
    "000-histogram-summary",
    """
wandb.run.summary.update( # 요약에만 있는 경우, Overview 탭에서만 보임
{"final_logits": wandb.Histogram(logits)}
)
""",
)

snippet(
    "000-png",
    """
wandb.log({"example": wandb.Image(img)})  # filled: the seed writes wandb.Image(...)
# 혹은 여러 이미지
wandb.log({"example": [wandb.Image(img) for img in images]})  # filled: as above
""",
)

snippet(
    "000-video-file",
    """
wandb.log({"example": wandb.Video("myvideo.mp4")})
""",
)

snippet(
    "000-rdkit",
    """
molecule = rdkit.Chem.MolFromSmiles("CC(=O)O")
rdkit.Chem.AllChem.Compute2DCoords(molecule)
rdkit.Chem.AllChem.GenerateDepictionMatching2DStructure(molecule, molecule)
pil_image = rdkit.Chem.Draw.MolToImage(molecule, size=(300, 300))
wandb.log({"acetic_acid": wandb.Image(pil_image)})
""",
)

snippet(
    "002-object3d-files",
    """
wandb.log(
    {
        "generated_samples": [
            wandb.Object3D(open("sample.obj")),
            wandb.Object3D(open("sample.gltf")),
            wandb.Object3D(open("sample.glb")),
        ]
    }
)
""",
)

snippet(
    "002-point-cloud",
    """
point_cloud = np.array([[0, 0, 0, COLOR]])
wandb.log({"point_cloud": wandb.Object3D(point_cloud)})
""",
)

# --- 001 (ko): the Image reference ----------------------------------------------------------------

snippet(
    "001-torch-0-1",
    """
import torch
import wandb

# [0, 1] 범위의 값을 가진 텐서 생성
tensor_0_1 = torch.rand(3, 64, 64)  # 0에서 1 사이의 랜덤 값

# 모든 값에 255를 곱함
image = wandb.Image(tensor_0_1, caption="[0,1] 범위에서 정규화")
""",
)

snippet(
    "001-torch-minus1-1",
    """
import torch
import wandb

# [-1, 1] 범위의 값을 가진 텐서 생성
tensor_neg1_1 = torch.rand(3, 64, 64) * 2 - 1  # -1에서 1 사이의 랜덤 값

# 리스케일: -1 → 0, 0 → 127.5, 1 → 255
image = wandb.Image(tensor_neg1_1, caption="[-1,1] 범위에서 정규화")
""",
)

snippet(
    "001-torch-pil",
    """
import torch
from PIL import Image as PILImage
import wandb

# [0, 1] 범위의 값을 가진 텐서 생성
tensor_0_1 = torch.rand(3, 64, 64)

# PIL 이미지로 변환하여 정규화 회피
pil_image = PILImage.fromarray((tensor_0_1.permute(1, 2, 0).numpy() * 255).astype('uint8'))
image = wandb.Image(pil_image, caption="정규화가 적용되지 않음")
""",
)

snippet(
    "001-torch-normalize-false",
    """
import torch
import wandb

# [0, 1] 범위의 값을 가진 텐서 생성
tensor_0_1 = torch.rand(3, 64, 64)

# 정규화 비활성화 - 값은 [0, 255]로 클립됨
image = wandb.Image(tensor_0_1, normalize=False, caption="정규화 비활성화")
""",
)

snippet(
    "001-numpy",
    """
import numpy as np
import wandb

with wandb.init() as run:
    examples = []
    for i in range(3):
        pixels = np.random.randint(low=0, high=256, size=(100, 100, 3))
        image = wandb.Image(pixels, caption=f"random field {i}")
        examples.append(image)
    run.log({"examples": examples})
""",
)

snippet(
    "001-pil",
    """
import numpy as np
from PIL import Image as PILImage
import wandb

with wandb.init() as run:
    examples = []
    for i in range(3):
        pixels = np.random.randint(
            low=0, high=256, size=(100, 100, 3), dtype=np.uint8
        )
        pil_image = PILImage.fromarray(pixels, mode="RGB")
        image = wandb.Image(pil_image, caption=f"random field {i}")
        examples.append(image)
    run.log({"examples": examples})
""",
)

snippet(
    "001-jpg",
    """
import numpy as np
import wandb

with wandb.init() as run:
    examples = []
    for i in range(3):
        pixels = np.random.randint(low=0, high=256, size=(100, 100, 3))
        image = wandb.Image(pixels, caption=f"random field {i}", file_type="jpg")
        examples.append(image)
    run.log({"examples": examples})
""",
)

# --- 003 (ko): the log() reference ----------------------------------------------------------------

snippet(
    "003-sections",
    """
run.log(
{
"train/accuracy": 0.9,
"train/loss": 30,
"validate/accuracy": 0.8,
"validate/loss": 20,
}
)
run.log({"a/b/c": 1})
run.log({"epoch": 40, "train-loss": 0.5})
""",
)

snippet(
    "003-steps",
    """
# 일반적인 사용법:
run.log({"train-loss": 0.5, "accuracy": 0.8})
run.log({"train-loss": 0.4, "accuracy": 0.9})
# 자동 증가 없이 암시적 단계:
run.log({"train-loss": 0.5}, commit=False)
run.log({"accuracy": 0.8})
run.log({"train-loss": 0.4}, commit=False)
run.log({"accuracy": 0.9})
# 명시적 단계:
run.log({"train-loss": 0.5}, step=current_step)
run.log({"accuracy": 0.8}, step=current_step)
current_step += 1
run.log({"train-loss": 0.4}, step=current_step)
run.log({"accuracy": 0.9}, step=current_step)
""",
)

snippet(
    "003-basic",
    """
import wandb

with wandb.init() as run:
    run.log({"accuracy": 0.9, "epoch": 5})
""",
)

snippet(
    "003-incremental",
    """
import wandb

with wandb.init() as run:
    run.log({"loss": 0.2}, commit=False)
    # 이 단계를 보고할 준비가 되면 다른 곳에서:
    run.log({"accuracy": 0.8})
""",
)

snippet(
    "003-histogram",
    """
import numpy as np
import wandb

# 정규 분포에서 임의로 그레이디언트 샘플링
gradients = np.random.randn(100, 100)

with wandb.init() as run:
    run.log({"gradients": wandb.Histogram(gradients)})
""",
)

snippet(
    "003-numpy-images",
    """
import numpy as np
import wandb

with wandb.init() as run:
    examples = []
    for i in range(3):
        pixels = np.random.randint(low=0, high=256, size=(100, 100, 3))
        image = wandb.Image(pixels, caption=f"random field {i}")
        examples.append(image)
    run.log({"examples": examples})
""",
)

snippet(
    "003-pil-images",
    """
import numpy as np
from PIL import Image as PILImage
import wandb

with wandb.init() as run:
    examples = []
    for i in range(3):
        pixels = np.random.randint(
            low=0,
            high=256,
            size=(100, 100, 3),
            dtype=np.uint8,
        )
        pil_image = PILImage.fromarray(pixels, mode="RGB")
        image = wandb.Image(pil_image, caption=f"random field {i}")
        examples.append(image)
    run.log({"examples": examples})
""",
)

snippet(
    "003-video",
    """
import numpy as np
import wandb

with wandb.init() as run:
    # 축은 (시간, 채널, 높이, 너비) 입니다.
    frames = np.random.randint(
        low=0,
        high=256,
        size=(10, 3, 100, 100),
        dtype=np.uint8,
    )
    run.log({"video": wandb.Video(frames, fps=4)})
""",
)

snippet(
    "003-matplotlib",
    """
from matplotlib import pyplot as plt
import numpy as np
import wandb

with wandb.init() as run:
    fig, ax = plt.subplots()
    x = np.linspace(0, 10)
    y = x * x
    ax.plot(x, y) # 플롯 y = x^2
    run.log({"chart": fig})
""",
)

snippet(
    "003-pr-curve",
    """
import wandb

with wandb.init() as run:
    run.log({"pr": wandb.plot.pr_curve(y_test, y_probas, labels)})
""",
)

snippet(
    "003-object3d",
    """
import wandb

with wandb.init() as run:
    run.log(
        {
            "generated_samples": [
                wandb.Object3D(open("sample.obj")),
                wandb.Object3D(open("sample.gltf")),
                wandb.Object3D(open("sample.glb")),
            ]
        }
    )
""",
)

# --- 004 (ko): the older wandb.log() guide ---------------------------------------------------------

snippet(
    "004-scalars",
    """
wandb.log({'accuracy': 0.9, 'epoch': 5})
""",
)

snippet(
    "004-histograms",
    """
wandb.log({"gradients": wandb.Histogram(numpy_array_or_sequence)})
wandb.run.summary.update({"gradients": wandb.Histogram(np_histogram=np.histogram(data))})
""",
)

snippet(
    "004-images",
    """
wandb.log({"examples": [wandb.Image(numpy_array_or_pil, caption="Label")]})
""",
)

snippet(
    "004-masks",
    """
mask_data = np.array([[1, 2, 2, 2, 2, 1], [1, 1, 3, 3, 2, 1]])  # filled: the seed elides the rows

class_labels = {
  1: "tree",
  2: "car",
  3: "road"
}

mask_img = wandb.Image(image, masks={
  "predictions": {
    "mask_data": mask_data,
    "class_labels": class_labels
  },
  "groud_truth": {
    "mask_data": mask_data  # filled: the seed elides this mask
  },
})
wandb.log({"mask_img": mask_img})  # filled: the seed stops before logging
""",
)

snippet(
    "004-boxes",
    """
class_id_to_label = {
    1: "car",
    2: "road",
    3: "building",
}  # filled: the seed elides more labels with "...."

img = wandb.Image(image, boxes={
    "predictions": {
        "box_data": [{
            "position": {
                "minX": 0.1,
                "maxX": 0.2,
                "minY": 0.3,
                "maxY": 0.4,
            },
            "class_id" : 2,
            "box_caption": "minMax(pixel)",
            "scores" : {
                "acc": 0.1,
                "loss": 1.2
            },
        },
        # Log as many boxes as needed
        ],  # filled: the seed elides more boxes with "..."
        "class_labels": class_id_to_label
    },
    "ground_truth": {
    # Log each group of boxes with a unique key name
    "box_data": [],  # filled: the seed elides this group
    }
})

wandb.log({"driving_scene": img})
""",
)

snippet(
    "004-audio",
    """
wandb.log({"examples": [wandb.Audio(numpy_array, caption="Nice", sample_rate=32)]})
""",
)

snippet(
    "004-video",
    """
wandb.log({"video": wandb.Video(numpy_array_or_path_to_video, fps=4, format="gif")})
""",
)

snippet(
    "004-table",
    """
# Method 1
data = [["I love my phone", "1", "1"],["My phone sucks", "0", "-1"]]
wandb.log({"examples": wandb.Table(data=data, columns=["Text", "Predicted Label", "True Label"])})

# Method 2
table = wandb.Table(columns=["Text", "Predicted Label", "True Label"])
table.add_data("I love my phone", "1", "1")
table.add_data("My phone sucks", "0", "-1")
wandb.log({"examples": table})
""",
)

snippet(
    "004-dataframe",
    """
table = wandb.Table(dataframe=my_dataframe)
""",
)

snippet(
    "004-html",
    """
wandb.log({"custom_file": wandb.Html(open("some.html"))})
wandb.log({"custom_string": wandb.Html('<a href="https://mysite">Link</a>')})
wandb.log({"custom_file": wandb.Html(open("some.html"), inject=False)})
""",
)

snippet(
    "004-molecule",
    """
wandb.log({"protein": wandb.Molecule(open("6lu7.pdb"))})  # filled: the seed misses the last ")"
""",
)

snippet(
    "004-line",
    """
data = [[x, y] for (x, y) in zip(x_values, y_values)]
table = wandb.Table(data=data, columns = ["x", "y"])
wandb.log({"my_custom_plot_id" : wandb.plot.line(table, "x", "y", title="Custom Y vs X Line Plot")})
""",
)

snippet(
    "004-scatter",
    """
data = [[x, y] for (x, y) in zip(class_x_prediction_scores, class_y_prediction_scores)]
table = wandb.Table(data=data, columns = ["class_x", "class_y"])
wandb.log({"my_custom_id" : wandb.plot.scatter(table, "class_x", "class_y")})
""",
)

snippet(
    "004-bar",
    """
data = [[label, val] for (label, val) in zip(labels, values)]
table = wandb.Table(data=data, columns = ["label", "value"])
wandb.log({"my_bar_chart_id" : wandb.plot.bar(table, "label", "value", title="Custom Bar Chart")})  # filled: the seed misses "})"
""",
)

snippet(
    "004-histogram-chart",
    """
data = [[s] for s in scores]
table = wandb.Table(data=data, columns=["scores"])
wandb.log({'my_histogram': wandb.plot.histogram(table, "scores", title=None)})
""",
)

snippet(
    "004-pr-curve",
    """
wandb.log({"pr" : wandb.plot.pr_curve(ground_truth, predictions,
                     labels=None, classes_to_plot=None)})
""",
)

snippet(
    "004-roc-curve",
    """
wandb.log({"roc" : wandb.plot.roc_curve( ground_truth, predictions, \\
                        labels=None, classes_to_plot=None)})
""",
)

snippet(
    "004-custom-preset",
    """
# Create a table with the columns to plot
table = wandb.Table(data=data, columns=["step", "height"])

# Map from the table's columns to the chart's fields
fields = {"x": "step",
          "value": "height"}

# Use the table to populate the new custom chart preset
# To use your own saved chart preset, change the vega_spec_name
my_custom_chart = wandb.plot_table(vega_spec_name="carey/new_chart",
              data_table=table,
              fields=fields,
              )
wandb.log({"custom": my_custom_chart})  # filled: the seed stops before logging
""",
)

snippet(
    "004-matplotlib",
    """
import matplotlib.pyplot as plt
plt.plot([1, 2, 3, 4])
plt.ylabel('some interesting numbers')
wandb.log({"chart": plt})
""",
)

snippet(
    "004-object3d",
    """
wandb.log({"generated_samples":
           [wandb.Object3D(open("sample.obj")),
            wandb.Object3D(open("sample.gltf")),
            wandb.Object3D(open("sample.glb"))]})
""",
)

snippet(
    "004-point-cloud",
    """
point_cloud = np.array([[0, 0, 0, 255, 0, 0], [1, 1, 1, 0, 255, 0]])  # filled: the seed writes [[0, 0, 0, COLOR...], ...]

wandb.log({"point_cloud": wandb.Object3D(point_cloud)})
""",
)

snippet(
    "004-lidar",
    """
# Log points and boxes in W&B
wandb.log(
        {
            "point_scene": wandb.Object3D(
                {
                    "type": "lidar/beta",
                    "points": np.array(
                        [
                            [0.4, 1, 1.3],
                            [1, 1, 1],
                            [1.2, 1, 1.2]
                        ]
                    ),
                    "boxes": np.array(
                        [
                            {
                                "corners": [
                                    [0,0,0],
                                    [0,1,0],
                                    [0,0,1],
                                    [1,0,0],
                                    [1,1,0],
                                    [0,1,1],
                                    [1,0,1],
                                    [1,1,1]
                                ],
                                "label": "Box",
                                "color": [123,321,111],
                            },
                            {
                                "corners": [
                                    [0,0,0],
                                    [0,2,0],
                                    [0,0,2],
                                    [2,0,0],
                                    [2,2,0],
                                    [0,2,2],
                                    [2,0,2],
                                    [2,2,2]
                                ],
                                "label": "Box-2",
                                "color": [111,321,0],
                            }
                        ]
                    ),
                    "vectors": [
                        {"start": [0,0,0], "end": [0.1,0.2,0.5]}
                    ]
                }
            )
        }
    )
""",
)

snippet(
    "004-step",
    """
wandb.log({'loss': 0.2}, step=step)
""",
)

snippet(
    "004-commit-false",
    """
wandb.log({'loss': 0.2}, commit=False)
# Somewhere else when I'm ready to report this step:
wandb.log({'accuracy': 0.8})
""",
)

snippet(
    "004-summary",
    """
wandb.init(config=args)

best_accuracy = 0
for epoch in range(1, args.epochs + 1):
  test_loss, test_accuracy = test()
  if (test_accuracy > best_accuracy):
    wandb.run.summary["best_accuracy"] = test_accuracy
    best_accuracy = test_accuracy
""",
)

snippet(
    "004-tf-logging-line",
    """
wandb.log({'acc': acc, 'loss':loss}) # log accuracy and loss
""",
)

snippet(
    "004-pytorch",
    """
# Start pytorch training
wandb.init(config=args)

for epoch in range(1, args.epochs + 1):
  train_loss = train(epoch)
  test_loss, test_accuracy = test()

  torch.save(model.state_dict(), 'model')

  wandb.log({"loss": train_loss, "val_loss": test_loss})
""",
)

snippet(
    "004-faq",
    """
wandb.log({'epoch': epoch, 'val_acc': 0.94})
wandb.log({'batch': 1, 'loss': 0.3})
wandb.log({"example": wandb.Image(img)})  # filled: the seed writes wandb.Image(...)
# Or multiple images
wandb.log({"example": [wandb.Image(img) for img in images]})  # filled: as above
im = PIL.fromarray(...)
rgb_im = im.convert('RGB')
rgb_im.save('myimage.jpg')
wandb.log({"example": wandb.Image("myimage.jpg")})
wandb.log({"example": wandb.Video("myvideo.mp4")})
wandb.log({"acc":1, "global_step":1})  # filled: the seed uses typographic quotes
wandb.log({"acc":1,"batch":10}, step=epoch)
wandb.log({
        "Examples": example_images,
        "Test Accuracy": 100. * correct / len(test_loader.dataset),
        "Test Loss": test_loss})
""",
)


# --- running them ---------------------------------------------------------------------------------

NEEDS = {
    "001-torch-0-1": "torch",
    "001-torch-minus1-1": "torch",
    "001-torch-pil": "torch",
    "001-torch-normalize-false": "torch",
    "004-pytorch": "torch",
    "000-rdkit": "rdkit",
    "004-dataframe": "pandas",
}


def _masks():
    rng = np.random.default_rng(1)
    return [rng.integers(0, 2, (20, 20)) for _ in range(2)]


# Names a seed uses for different things in different examples.
OVERRIDES = {
    "000-table-masks": {"labels": _masks()},
    "003-pr-curve": {"labels": ["cat", "dog", "bird"]},
}


def free_names(tmp_path: Path) -> dict:
    """Sample data for the names the seeds leave to the reader."""
    import PIL.Image

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (2, 6, 3), dtype=np.uint8)
    images = [rng.integers(0, 256, (20, 20, 3), dtype=np.uint8) for _ in range(2)]

    class FakePIL:  # the seeds call PIL.fromarray(...), which Pillow does not have
        Image = PIL.Image

        @staticmethod
        def fromarray(_):
            return PIL.Image.fromarray(images[0])

    class Loader:
        dataset = list(range(10))

    names = {
        "wandb": localrun,  # the line a user changes: import localrun as wandb
        "np": np,
        "PIL": FakePIL,
        "image_array": images[0],
        "image_array_batch": images,
        "image": image,
        "img": images[0],
        "images": images,
        "ids": [0, 1],
        "labels": ["a", "b"],
        "class_labels": {0: "background", 1: "thing"},
        "boxes_set": [
            [{"minX": 1, "minY": 1, "maxX": 5, "maxY": 5, "class_id": 1, "caption": "thing"}]
        ]
        * 2,
        "grads": rng.random(1000),
        "logits": rng.normal(size=100),
        "numpy_array_or_sequence": rng.normal(size=500),
        "data": [[i, i * 1.5] for i in range(5)],
        "numpy_array_or_pil": images[1],
        "numpy_array": rng.uniform(-1, 1, 64),
        "numpy_array_or_path_to_video": rng.integers(0, 256, (4, 3, 8, 8), dtype=np.uint8),
        "x_values": [1, 2, 3],
        "y_values": [1, 4, 9],
        "class_x_prediction_scores": [0.1, 0.5],
        "class_y_prediction_scores": [0.9, 0.5],
        "values": [3, 4],
        "scores": rng.random(50).tolist(),
        "ground_truth": rng.integers(0, 2, 30),
        "predictions": rng.random((30, 2)),
        "y_test": rng.integers(0, 3, 30),
        "y_probas": rng.random((30, 3)),
        "COLOR": 3,
        "current_step": 100,
        "step": 200,
        "epoch": 300,
        "acc": 0.5,
        "loss": 0.1,
        "args": argparse.Namespace(epochs=3),
        "test": lambda: (0.1, float(rng.random())),
        "train": lambda epoch: 1.0 / epoch,
        "example_images": [localrun.Image(images[0])],
        "correct": 7,
        "test_loader": Loader(),
        "test_loss": 0.3,
    }
    if "004-dataframe" in SNIPPETS:
        try:
            import pandas

            names["my_dataframe"] = pandas.DataFrame({"a": [1, 2]})
        except ImportError:
            pass
    return names


def check_references(run_dir: str, value) -> int:
    """Every file reference in an exported value is a real file in the run; returns how many."""
    n = 0
    if isinstance(value, dict):
        if isinstance(value.get("path"), str) and "sha256" in value:
            file_of(run_dir, value)
            n += 1
        for i, name in enumerate(value.get("filenames") or []):
            file_of(
                run_dir, {"path": name, "sha256": value["sha256s"][i], "size": value["sizes"][i]}
            )
            n += 1
        n += sum(check_references(run_dir, v) for k, v in value.items() if k != "filenames")
    elif isinstance(value, list):
        n += sum(check_references(run_dir, v) for v in value)
    return n


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_seed_example_runs_and_reads_back(name, tmp_path, monkeypatch):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    for fixture, as_name in [("sample.obj", "sample.obj"), ("sample.gltf", "sample.gltf"), ("sample.glb", "sample.glb"),
                             ("sample.html", "some.html"), ("sample.pdb", "6lu7.pdb"), ("sample.mp4", "myvideo.mp4")]:  # fmt: skip
        shutil.copy(FIXTURES / fixture, tmp_path / as_name)
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    monkeypatch.setenv("LOCALRUN_DIR", str(runs))
    monkeypatch.setenv("LOCALRUN_SILENT", "1")
    monkeypatch.setitem(sys.modules, "wandb", localrun)
    namespace = free_names(tmp_path)
    if name in ("000-rdkit",):
        import rdkit.Chem.AllChem
        import rdkit.Chem.Draw

        namespace["rdkit"] = rdkit
    if name == "004-pytorch":
        import torch

        namespace.update(torch=torch, model=torch.nn.Linear(1, 1))
    namespace.update(OVERRIDES.get(name, {}))
    opened = []

    def tracking_open(*args, **kwargs):
        # The seeds pass open(...) and never close it; the test closes what they opened.
        f = open(*args, **kwargs)
        opened.append(f)
        return f

    namespace["open"] = tracking_open
    run = localrun.init(settings={"quiet": True})
    namespace["run"] = run
    try:
        exec(compile(SNIPPETS[name], f"<seed {name}>", "exec"), namespace)
    finally:
        for f in opened:
            f.close()
        localrun.finish()
        import matplotlib.pyplot as plt

        plt.close("all")
    refs = 0
    for run_dir in sorted(p for p in runs.iterdir() if p.is_dir()):
        for row in export(str(run_dir)):
            refs += check_references(str(run_dir), row)
    uses_files = any(
        word in SNIPPETS[name]
        for word in (
            "Image(",
            "Video(",
            "Audio(",
            "Table(",
            "Html(",
            "Object3D(",
            "Molecule(",
            "plot",
            '"chart": ',
        )
    )
    logs = "log(" in SNIPPETS[name]
    if uses_files and logs:
        assert refs > 0, f"seed example {name} logged no file"


def test_every_seed_document_has_examples_here():
    seeds = Path(__file__).resolve().parents[3] / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("the seed documents are not next to this checkout")
    prefixes = {name.split("-")[0] for name in SNIPPETS}
    for path in seeds.glob("*.txt"):
        assert path.name[:3] in prefixes, f"no examples from {path.name}"


def test_the_seed_snippets_compile():
    for name, code in SNIPPETS.items():
        compile(code, f"<seed {name}>", "exec")
    assert len(SNIPPETS) >= 60


os.environ.setdefault("MPLBACKEND", "Agg")
