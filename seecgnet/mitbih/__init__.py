"""The MIT-BIH Arrhythmia Database benchmark: ``python -m seecgnet.mitbih --help``."""
