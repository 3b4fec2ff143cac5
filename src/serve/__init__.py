"""Serving: a model in, words out — the :class:`~src.serve.recognizer.Recognizer`, the backends that run a
network or an exported model (:mod:`.backends`), and int8 quantisation (:mod:`.quantize`).

Training never imports from here."""
