"""Adapters from a refinery project to training-data formats: Rasa ``nlu.yml`` (:mod:`.rasa`), Hugging Face
``datasets`` (:mod:`.huggingface`), scikit-learn train/test (:mod:`.sklearn`) and spaCy DocBin (:mod:`.spacy`)."""
