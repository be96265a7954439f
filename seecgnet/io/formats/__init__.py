"""Reading ECG records in the formats other than the challenge's ``.hea`` + ``.mat``."""
