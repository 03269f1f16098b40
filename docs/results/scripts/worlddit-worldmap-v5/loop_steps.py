"""Frames of a benchmark loop.gif at given steps, chosen panels side by side, zoomed: one PNG.
Usage: python loop_steps.py LOOP.gif OUT.png PANELS STEPS   (PANELS, STEPS: comma lists; panel 0 = real)"""
import sys
from PIL import Image
gif, out, panels, steps = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3].split(",")], [int(s) for s in sys.argv[4].split(",")]
im = Image.open(gif)
n = round(im.size[0] / 200)  # panels of 200 px (64 px x 3 and a margin), a title strip above
w = im.size[0] // n
rows = []
for s in steps:
    im.seek(s)
    f = im.convert("RGB")
    rows.append([f.crop((p * w, 0, (p + 1) * w, im.size[1])) for p in panels])
sheet = Image.new("RGB", (w * len(panels), im.size[1] * len(steps)), (20, 20, 24))
for i, r in enumerate(rows):
    for j, c in enumerate(r):
        sheet.paste(c, (j * w, i * im.size[1]))
sheet = sheet.resize((sheet.width * 2, sheet.height * 2), Image.NEAREST)
sheet.save(out)
print("wrote", out, sheet.size)
