"""TF-IDF vectors over a fixed vocabulary, as sparse matrices.

Cosine similarity of L2-normalised TF-IDF vectors is bounded (0..1) and does
not depend on how many specialists there are, which is what a score that
"means the same across demands" needs; BM25 scores are neither. Term
frequency is sublinear (1 + ln tf) so a word repeated ten times does not
outweigh ten different shared words.

A demand's words that no specialist uses still count in its norm (with the
highest idf): otherwise a demand of which we know only one word would look
like a perfect match for anyone who has that word.

The index is counted in chunks of documents, each with its own small key
table, and the chunks are merged onto one sorted vocabulary: at 100,000
profiles this keeps the peak to the final matrices instead of tens of
millions of (document, key) entries at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from matching.text import Bag

Matrix: TypeAlias = sp.csr_matrix


def _distinct(keys: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Sorted distinct keys and each key's position among them (sort-based: numpy's
    hash-based unique was ten times slower on tens of millions of int64)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]] if ordered.size else np.zeros(0, bool)
    position = np.empty(keys.size, dtype=np.int64)
    position[order] = np.cumsum(first) - 1
    return ordered[first], position


def counts(bag: Bag, rows: int) -> tuple[Matrix, NDArray[np.int64]]:
    """Term frequencies of a bag over its own distinct keys: (rows x keys matrix, keys)."""
    keys, column = _distinct(bag.key)
    matrix = sp.csr_matrix(
        (bag.weight, (bag.doc.astype(np.int32), column.astype(np.int32))),
        shape=(rows, keys.size),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    return matrix, keys


def _stacked(parts: list[tuple[Matrix, NDArray[np.int64]]], keys: NDArray[np.int64]) -> Matrix:
    """The chunks as one CSR over ``keys``, copied one at a time and freed (``parts`` empties)."""
    rows = sum(matrix.shape[0] for matrix, _ in parts)
    nnz = sum(matrix.nnz for matrix, _ in parts)
    data = np.empty(nnz, dtype=np.float32)
    indices = np.empty(nnz, dtype=np.int32)
    indptr = np.zeros(rows + 1, dtype=np.int64)
    row = at = 0
    parts.reverse()  # pop from the end, in the original order
    while parts:
        matrix, part_keys = parts.pop()
        count = matrix.nnz
        data[at : at + count] = matrix.data
        indices[at : at + count] = np.searchsorted(keys, part_keys)[matrix.indices]
        indptr[row + 1 : row + matrix.shape[0] + 1] = matrix.indptr[1:] + at
        row, at = row + matrix.shape[0], at + count
        del matrix
    return sp.csr_matrix((data, indices, indptr), shape=(rows, keys.size))


WEIGHED_ROWS = 5_000


class Frequencies:
    """Document frequencies of keys, counted chunk by chunk (nothing else is kept)."""

    def __init__(self) -> None:
        self._keys: list[NDArray[np.int64]] = []
        self._df: list[NDArray[np.int64]] = []
        self.documents = 0

    def add(self, bag: Bag, rows: int) -> None:
        matrix, keys = counts(bag, rows)
        self._keys.append(keys)
        self._df.append(np.bincount(matrix.indices, minlength=keys.size))
        self.documents += rows

    def merged(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Sorted distinct keys and how many documents have each."""
        if not self._keys:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        keys, position = _distinct(np.concatenate(self._keys))
        df = np.bincount(position, weights=np.concatenate(self._df), minlength=keys.size)
        return keys, df.astype(np.int64)


class Transposed:
    """A features x documents CSR filled chunk of documents by chunk, in place: its size
    is known from the document frequencies, so no documents x features copy is made."""

    def __init__(self, per_feature: NDArray[np.int64], documents: int) -> None:
        self.indptr = np.concatenate(([0], np.cumsum(per_feature))).astype(np.int64)
        self.data = np.empty(int(self.indptr[-1]), dtype=np.float32)
        self.indices = np.empty(int(self.indptr[-1]), dtype=np.int32)
        self.filled = np.zeros(per_feature.size, dtype=np.int64)
        self.documents = documents

    def add(self, first: int, rows: Matrix) -> None:
        """Documents ``first``.. as TF-IDF rows; chunks come in document order."""
        coo = rows.tocoo()
        order = np.lexsort((coo.row, coo.col))
        column = coo.col[order].astype(np.int64)
        here = np.bincount(column, minlength=self.filled.size)
        within = np.arange(column.size) - (np.cumsum(here) - here)[column]
        at = self.indptr[column] + self.filled[column] + within
        self.data[at] = coo.data[order]
        self.indices[at] = coo.row[order] + first
        self.filled += here

    def matrix(self) -> Matrix:
        shape = (self.filled.size, self.documents)
        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=shape)


class Vocabulary:
    """Sorted feature keys of one channel with their inverse document frequencies."""

    def __init__(
        self,
        keys: NDArray[np.int64],
        df: NDArray[np.int64],
        documents: int,
        damped: NDArray[np.int64] | None = None,
        damping: float = 1.0,
    ) -> None:
        self.keys = keys
        self.df = df
        self.documents = documents
        self.idf = (np.log((documents + 1) / (df + 1)) + 1).astype(np.float32)
        if damped is not None:
            self.idf[np.isin(keys, damped)] *= damping
        self.unseen_idf = float(np.log(documents + 1) + 1)

    @staticmethod
    def fit(parts: list[tuple[Matrix, NDArray[np.int64]]]) -> tuple[Vocabulary, Matrix]:
        """Vocabulary of chunks counted by ``counts``, and their TF-IDF rows stacked.

        ``parts`` is emptied: each chunk is freed once it is copied, so the peak
        is the stacked matrix and one chunk, not two copies of everything.
        """
        keys, _ = _distinct(np.concatenate([part_keys for _, part_keys in parts]))
        documents = sum(matrix.shape[0] for matrix, _ in parts)
        tf = _stacked(parts, keys)
        vocabulary = Vocabulary(keys, np.bincount(tf.indices, minlength=keys.size), documents)
        vocabulary._weigh(tf, np.zeros(tf.shape[0]))
        return vocabulary, tf

    @staticmethod
    def of(
        frequencies: Sequence[Frequencies],
        damped: NDArray[np.int64] | None = None,
        damping: float = 1.0,
    ) -> Vocabulary:
        """The vocabulary of documents counted by ``Frequencies`` (all count in the idf)."""
        merged = [f.merged() for f in frequencies]
        keys, position = _distinct(np.concatenate([k for k, _ in merged]))
        df = np.bincount(
            position, weights=np.concatenate([d for _, d in merged]), minlength=keys.size
        )
        documents = sum(f.documents for f in frequencies)
        return Vocabulary(keys, df.astype(np.int64), documents, damped, damping)

    def per_key(self, frequencies: Frequencies) -> NDArray[np.int64]:
        """The documents of ``frequencies`` that have each of this vocabulary's keys."""
        keys, df = frequencies.merged()
        found = np.zeros(len(self), dtype=np.int64)
        found[np.searchsorted(self.keys, keys)] = df
        return found

    def __len__(self) -> int:
        return int(self.keys.size)

    def _weigh(self, tf: Matrix, unseen_squares: NDArray[np.float64]) -> None:
        """Turn term frequencies into L2-normalised TF-IDF, in place, WEIGHED_ROWS rows at
        a time (whole-matrix temporaries were twice the matrix at 100,000 profiles)."""
        tf.data = tf.data.astype(np.float32, copy=False)
        for start in range(0, tf.shape[0], WEIGHED_ROWS):
            stop = min(start + WEIGHED_ROWS, tf.shape[0])
            low, high = tf.indptr[start], tf.indptr[stop]
            data = tf.data[low:high]  # a view: written in place
            data[:] = (1 + np.log(data)) * self.idf[tf.indices[low:high]]
            per_row = np.diff(tf.indptr[start : stop + 1])
            squares = np.bincount(
                np.repeat(np.arange(stop - start), per_row),
                weights=data.astype(np.float64) ** 2,
                minlength=stop - start,
            )
            norm = np.sqrt(squares + unseen_squares[start:stop])
            norm[norm == 0] = 1
            data /= np.repeat(norm, per_row).astype(np.float32)

    def vectors(self, bag: Bag, rows: int) -> Matrix:
        """L2-normalised TF-IDF rows; unseen keys weigh in the norm, then are dropped."""
        size = len(self)
        column = np.searchsorted(self.keys, bag.key).clip(max=max(size - 1, 0))
        known = self.keys[column] == bag.key if size else np.zeros(bag.key.shape, dtype=bool)
        tf = sp.csr_matrix(
            (bag.weight[known], (bag.doc[known], column[known])),
            shape=(rows, size),
            dtype=np.float32,
        )
        tf.sum_duplicates()
        self._weigh(tf, self._unseen_squares(bag, ~known, rows))
        return tf

    def _unseen_squares(
        self, bag: Bag, unseen: NDArray[np.bool_], rows: int
    ) -> NDArray[np.float64]:
        """Per row, the squared TF-IDF weights of keys outside the vocabulary."""
        doc, key, weight = bag.doc[unseen], bag.key[unseen], bag.weight[unseen]
        if doc.size == 0:
            return np.zeros(rows)
        order = np.lexsort((key, doc))
        doc, key, weight = doc[order], key[order], weight[order]
        starts = np.flatnonzero(np.r_[True, (doc[1:] != doc[:-1]) | (key[1:] != key[:-1])])
        tf = np.add.reduceat(weight.astype(np.float64), starts)
        squared = ((1 + np.log(tf)) * self.unseen_idf) ** 2
        return np.bincount(doc[starts], weights=squared, minlength=rows).astype(np.float64)
