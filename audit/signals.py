"""Signals the audit app sends.

``objects_restored``: rows recreated in bulk by a restore of a deletion (a
package's releases and files come back with one insert per model, which sends
no ``post_save``). Receivers that mirror rows elsewhere (the catalog's live
sync) listen to it. Arguments: ``sender`` (the model), ``pks``.
"""

from django.dispatch import Signal

objects_restored = Signal()
