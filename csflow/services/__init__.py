"""Operations shared by the worker's activities, the API and the CLI.

The layer between the data (`csflow.store`, which knows no Temporal) and the faces:
code here may read the store and talk to Temporal as a client, but never imports
activities, workflows or the worker, so the API and the CLI can call it freely.
"""
