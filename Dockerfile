# SE-ECGNet as a PhysioNet/CinC Challenge 2020 entry, on an NVIDIA GPU.
# The base image is pinned by tag: PyTorch 2.5.1 with CUDA 12.4 and cuDNN 9 (runtime only). It is a
# build argument so that CI can build this same file on a CPU stand-in with Python and torch at the
# same place (.ci/docker-smoke); a plain build uses the pinned image.
ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
FROM ${BASE_IMAGE}

# The challenge's template works in /physionet.
WORKDIR /physionet

# Dependencies first, so that a change to the code does not reinstall them. The base image's torch
# satisfies requirements.txt, so pip adds only the rest.
# The formats extra (DICOM, EDF) is installed too, so that the image reads every format.
COPY requirements.txt requirements-formats.txt /physionet/
RUN python -m pip install --no-cache-dir -r requirements.txt -r requirements-formats.txt

# Then the code, the weights table and the trained model (see .dockerignore for what stays out).
COPY . /physionet

# Nothing is downloaded at run time; the entry points are the challenge's own:
#   python train_model.py DATA MODEL
#   python driver.py MODEL INPUT OUTPUT
#   python evaluate_12ECG_score.py LABELS OUTPUTS scores.csv class_scores.csv
CMD ["python", "driver.py", "--help"]
