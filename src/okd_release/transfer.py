"""The transfer engine: copies images between stores concurrently, each distinct blob once, a bounded
window of images at a time.

An image named by digest whose every tag at the target already names that digest is complete: it is
skipped without a request to its source. An image whose manifest the target already has (by digest) needs
no blob checks at all: a registry takes a manifest only when every blob it names is there, and so do we.
Of the other images' blobs, those the target has are skipped after a HEAD, those in another repository of
the same registry are mounted, the rest are streamed GET→PUT with their digest verified. A manifest is
pushed only after every blob it names is present in the target, by the worker that finished its last blob;
an index only after all of its manifests; an image marked `after_all` (a release) only after every other
image is complete.

A transfer stops early, and leaves the target resumable, on Ctrl-C or when the target cannot be written
at all (full, over quota, read-only): queued work is cancelled and in-flight streams stop at their next chunk.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import queue
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from msgspec import Struct, field

from okd_release import logs
from okd_release.content import Descriptor, Platform
from okd_release.errors import DigestMismatch, ManifestBlobUnknown, OkdReleaseError, TransferError, TransientRegistryError
from okd_release.image import manifest as manifests
from okd_release.image.manifest import ImageIndex, ImageManifest, Manifest
from okd_release.image.store import ImageStore
from okd_release.listener import ProgressListener, SilentProgress
from okd_release.registry.client import BlobCut
from okd_release.registry.options import RetryPolicy
from okd_release.registry.retry import RetryCounter

UNWRITABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
"""Errors of a target file system that a retry cannot fix: they end the whole transfer at once."""
PAUSE_STEP = 0.25  # a retry's wait is slept in steps this long, so that a cancel is not waited out


class IncompleteTransfer(TransferError):
    """Some images failed; the others were copied. Carries the summary of what happened."""

    def __init__(self, message: str, summary: TransferSummary) -> None:
        super().__init__(message)
        self.summary = summary


class TransferCancelled(TransferError):
    """The transfer was stopped (Ctrl-C, or an error that ends it) before this operation completed."""


class TargetUnwritable(TransferError):
    """The target's file system refuses writes (no space, over quota, read-only); nothing more is tried."""


class Endpoint(Struct, frozen=True):
    store: ImageStore
    repository: str

    def __str__(self) -> str:
        return self.store.describe(self.repository)


class ImageCopy(Struct, frozen=True):
    """Copy `source_ref` (a digest or tag) of `source` into `target`, by digest and under `tags`.

    `after_all`: push this image's manifest and tags only after every other image of the transfer is
    complete, and not at all if any failed; so its tag at the target promises the others are there
    (a release, whose tag means the whole release is mirrored).
    """

    name: str
    source: Endpoint
    source_ref: str
    target: Endpoint
    tags: tuple[str, ...] = ()
    after_all: bool = False


class TransferSummary(Struct):
    """What a transfer did: images, failures, blobs copied / already present / mounted, bytes, retries, time.

    `images_present` counts the images found complete at the target (every tag already naming the source's
    digest) and skipped unread: their blobs are in none of the blob counts, which cover the images read.
    For a dry run, `blobs_missing` and `bytes_missing` say what a real run would copy. `digests` maps each
    image's name to the digest it was pushed as (kept only when the transfer is asked to: see Transfer).
    """

    images: int = 0
    images_present: int = 0
    images_failed: list[str] = field(default_factory=list)
    blobs_copied: int = 0
    blobs_skipped: int = 0
    blobs_mounted: int = 0
    bytes_copied: int = 0
    bytes_total: int = 0
    blobs_total: int = 0
    blobs_missing: int = 0
    bytes_missing: int = 0
    retries: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"<TransferSummary {self.images} images, {self.images_present} present, "
                f"{len(self.images_failed)} failed; blobs: {self.blobs_copied} "
                f"copied, {self.blobs_skipped} present, {self.blobs_mounted} mounted; {self.bytes_copied} bytes copied>")

    def as_dict(self) -> dict[str, object]:
        """The summary as `-o json` prints it (camelCase keys)."""
        return {
            "images": self.images, "imagesPresent": self.images_present,
            "imagesFailed": self.images_failed, "blobsCopied": self.blobs_copied,
            "blobsSkipped": self.blobs_skipped, "blobsMounted": self.blobs_mounted, "bytesCopied": self.bytes_copied,
            "bytesTotal": self.bytes_total, "blobsTotal": self.blobs_total, "blobsMissing": self.blobs_missing,
            "bytesMissing": self.bytes_missing,
            "retries": self.retries, "seconds": round(self.seconds, 3),
            "errors": self.errors,
        }


class _Image(Struct):
    """One image while it is in flight: its manifests, and the blob copies its push waits for."""

    copy: ImageCopy
    top: Manifest
    children: list[ImageManifest]
    present: bool = False  # the target has this manifest by digest, so it has its blobs and children too
    waited: list[Future[str]] = field(default_factory=list)

    def blobs(self) -> list[Descriptor]:
        images = self.children if isinstance(self.top, ImageIndex) else [self.top]
        return [blob for image in images for blob in image.blobs()]


class _Unseen:
    """The state of a blob no image has named yet."""


UNSEEN = _Unseen()
BlobState = Future[str] | int | None
"""What the transfer keeps of a blob at the target: a Future while it is copied (and if that failed), None once
it is verified present (checked, copied or mounted), its size while only images the target already has name it
(counted as present at the end unless another image needs it checked)."""


class Transfer:
    """Copies images through a bounded window; run() returns the summary (raises if anything failed).

    At most `window` images are in flight at once (manifests read, blobs being copied, manifests being
    pushed); of the others the transfer keeps only the state of each blob it has met, so memory does not
    grow with a release's images beyond a few bytes per blob. An image whose source reference is a digest
    and whose every tag at the target already names that digest (or, without tags, whose manifest the target
    has) is complete: it is skipped without reading its source, and counted in `summary.images_present`.

    `retries` is the counter of the registry session the stores belong to (`Registries.retries`): the
    transfer counts its own redone streams there too, and reports as `summary.retries` what that counter
    gained during run(), so two transfers of different sessions never count each other's retries.
    Without one, it reports only its own.

    `platform_filter` (instead of the set `platforms`) chooses the entries of a manifest list by predicate;
    either way, a list filtered to one entry is copied as that one image, and to several is an error (a
    list with entries missing would not be the image it names).

    `pushed(target, reference, digest)` is told of each manifest put as oc prints it: every tag, every
    child of a kept manifest list by digest, and an image without tags by digest (from the worker threads,
    one call at a time; also for an image already at the target, whose tags are put again, and for a complete
    image, of its tags or its digest, though nothing is put).

    `keep_digests`: record each image's digest in `summary.digests`; a caller that learns them from `pushed`
    (a mirror of thousands of images) passes False, and the transfer keeps nothing per image it is done with.

    The progress listener's `planned` is told the number of images at the start, and again with the blobs
    and bytes known so far each time an image's manifests add some: the totals grow as the window moves on.
    """

    def __init__(
        self,
        max_per_registry: int = 6,
        progress: ProgressListener | None = None,
        platforms: Iterable[Platform] | None = None,
        retry: RetryPolicy | None = None,
        dry_run: bool = False,
        retries: RetryCounter | None = None,
        pushed: Callable[[Endpoint, str, str], None] | None = None,
        platform_filter: Callable[[Platform | None], bool] | None = None,
        window: int | None = None,
        keep_digests: bool = True,
    ) -> None:
        self.max_per_registry = max(1, max_per_registry)
        self.progress = progress or SilentProgress()
        self.platforms = set(platforms or ())
        self._filtering = bool(self.platforms) or platform_filter is not None
        self._wanted = platform_filter or (lambda platform: platform in self.platforms)
        self._wanted_text = ", ".join(map(str, self.platforms)) if self.platforms else str(platform_filter)
        self.retry = retry or RetryPolicy()
        self.dry_run = dry_run
        self.window = window
        self.keep_digests = keep_digests
        self.summary = TransferSummary()
        self.retries = RetryCounter(parent=retries)  # this transfer's own redone streams and manifest pushes
        self._session_retries = retries
        self._pushed = pushed or (lambda *_: None)
        self._lock = threading.Lock()
        self._telling = threading.Lock()  # `pushed` is called by one thread at a time
        self._planning = threading.Lock()  # and so is `planned`
        self._limits: dict[str, threading.Semaphore] = {}
        self._cancelled = threading.Event()
        self._fatal: TargetUnwritable | None = None
        self._blobs: dict[tuple[str, str], dict[BlobKey, BlobState]] = {}  # per target (store, repository)
        self._skipping = not dry_run  # whether complete images are skipped (a dry run reports every image's blobs)
        self._last: list[_Image] = []  # `after_all` images whose blobs are in, for the driving thread to push

    def cancel(self) -> None:
        """Stop: queued work is dropped, in-flight streams end at their next chunk (run() then raises)."""
        self._cancelled.set()

    # -- one image's manifests -----------------------------------------------------------------------
    def _complete(self, copy: ImageCopy) -> bool:
        """Whether the target already has the image as it would be after the copy: every tag names the
        source's digest (no tag: the manifest is there by digest). Only for a source named by digest, and
        not when a manifest list is filtered (the target would get one of its entries, not the list)."""
        if not self._skipping or self._filtering or not copy.source_ref.startswith("sha256:"):
            return False
        target = copy.target
        if not copy.tags:
            with self._limit(target.store):
                return target.store.has_manifest(target.repository, copy.source_ref)
        for tag in copy.tags:
            with self._limit(target.store):
                if target.store.tag_digest(target.repository, tag) != copy.source_ref:
                    return False
        return True

    def _resolve(self, copy: ImageCopy) -> _Image:
        with self._limit(copy.source.store):
            raw = copy.source.store.get_manifest(copy.source.repository, copy.source_ref)
        top = manifests.parse(raw, f"manifest of {copy.name} ({copy.source})")
        children: list[ImageManifest] = []
        if isinstance(top, ImageIndex):
            for entry in top.manifests:
                if self._filtering and not self._wanted(entry.platform):
                    continue
                with self._limit(copy.source.store):
                    child = copy.source.store.get_manifest(copy.source.repository, entry.digest)
                parsed = manifests.parse(child, f"manifest {entry.digest} of {copy.name}")
                if isinstance(parsed, ImageIndex):
                    raise TransferError(f"{copy.name}: nested indexes are not supported")
                children.append(parsed)
            if self._filtering:
                if not children:
                    raise TransferError(f"{copy.name} has no manifest for {self._wanted_text}")
                if len(children) > 1:
                    chosen = ", ".join(str(entry.platform) for entry in top.manifests if self._wanted(entry.platform))
                    raise TransferError(f"{copy.name}: {self._wanted_text} matches {len(children)} of its images "
                                        f"({chosen}); it must match one")
                top = children[0]
                children = []
        target = copy.target
        with self._limit(target.store):
            present = not target.store.unknown_repository(target.repository) and \
                target.store.has_manifest(target.repository, top.digest)
        return _Image(copy, top, children, present)

    def _prepare(self, copy: ImageCopy) -> _Image | None:
        """The image's manifests, or None when there is nothing to do: it is complete at the target (told and
        counted), or its manifests could not be read (its failure recorded)."""
        try:
            if copy.after_all and not self.dry_run:
                with self._lock:
                    failed = len(self.summary.images_failed)
                if failed:  # it would not be pushed: not even read
                    self._fail(copy.name, f"not pushed, because {failed} other image{'s' if failed > 1 else ''} failed")
                    self.progress.image_done(copy.name, False)
                    return None
            if self._complete(copy):
                self._skip(copy)
                return None
            return self._resolve(copy)
        except OkdReleaseError as error:
            self._raise_if_stopped()
            self._fail(copy.name, str(error))
            return None

    def _skip(self, copy: ImageCopy) -> None:
        with self._lock:
            self.summary.images_present += 1
            if self.keep_digests:
                self.summary.digests[copy.name] = copy.source_ref
        if self.dry_run:
            return
        for reference in copy.tags or (copy.source_ref,):
            self._tell(copy.target, reference, copy.source_ref)
        self.progress.image_done(copy.name, True)

    def _blobs_at(self, target: Endpoint) -> dict[BlobKey, BlobState]:
        """The states of the blobs met at one target (under the lock)."""
        at = (target.store.key, target.repository)
        table = self._blobs.get(at)
        if table is None:
            table = self._blobs[at] = {}
        return table

    def _meet(self, image: _Image) -> list[BlobKey]:
        """Note the blobs of an image the window takes in (under the lock); the keys it is the first to need
        checked (of an image the target lacks, and not verified or claimed yet), which the caller claims."""
        table, claimed = self._blobs_at(image.copy.target), []
        for blob in image.blobs():
            key = blob_key(blob.digest)
            state = table.get(key, UNSEEN)
            if state is UNSEEN:
                self.summary.blobs_total += 1
                self.summary.bytes_total += blob.size
                if image.present:
                    table[key] = blob.size
            if not image.present and (state is UNSEEN or isinstance(state, int)) and key not in claimed:
                claimed.append(key)
        return claimed

    # -- execution ---------------------------------------------------------------------------------
    def run(self, copies: Collection[ImageCopy]) -> TransferSummary:
        """Copy `copies`: counted, its targets gathered, then taken in one at a time as the window moves on, so
        a collection that makes its copies as it is iterated (a mirror plan's) never has them all at once."""
        started, retries_before = time.monotonic(), self._retry_count()
        self.summary.images = len(copies)
        self._tell_planned()
        workers = self.max_per_registry * max(1, len({c.target.store.key for c in copies}))
        window = self.window or max(32, 4 * workers)
        with self._pool(workers) as pool:
            if self.dry_run:
                self._through_window(copies, lambda copy: self._start(pool, copy, self._measure), window)
            else:
                def copying(copy: ImageCopy) -> Future[None]:
                    return self._start(pool, copy, lambda image, done: self._copy(pool, image, done))

                last: list[ImageCopy] = []  # `after_all` images (a release each): a few

                def others() -> Iterator[ImageCopy]:
                    for copy in copies:
                        if copy.after_all:
                            last.append(copy)
                        else:
                            yield copy

                self._through_window(others(), copying, window)
                # the release last: its blobs only now, and its manifest only once every other image is complete
                self._through_window(last, copying, window)
                order = {id(copy): index for index, copy in enumerate(last)}
                for image in sorted(self._last, key=lambda i: order[id(i.copy)]):
                    self._push_last(image)
        if not self.dry_run:
            self._count_present_only()
        self._tell_planned()
        self.summary.retries = self._retry_count() - retries_before
        self.summary.seconds = time.monotonic() - started
        if self.summary.images_failed and not self.dry_run:
            raise IncompleteTransfer(
                f"{len(self.summary.images_failed)} of {self.summary.images} images failed: {self.summary.errors[0]}"
                + (f" (and {len(self.summary.errors) - 1} more)" if len(self.summary.errors) > 1 else ""),
                self.summary,
            )
        return self.summary

    def measure(self, copies: Collection[ImageCopy]) -> TransferSummary:
        """What a run would have to copy, nothing written: like a dry run, but an image complete at the target
        (see the class) is skipped unread, so `blobs_missing` and `bytes_missing` are exact while the totals
        cover only the images read. For a check of free space before a run."""
        self.dry_run, self._skipping = True, True
        return self.run(copies)

    def _through_window(self, copies: Iterable[ImageCopy], start: Callable[[ImageCopy], Future[None]], window: int) -> None:
        """Start each image in turn with at most `window` in flight: the driving thread waits for one to be
        done before it starts the next, and ends the transfer with whatever stopped an image."""
        finished: queue.SimpleQueue[Future[None]] = queue.SimpleQueue()  # images done, as they are done
        flying = 0
        for copy in copies:
            if flying >= window:
                self._settle(finished.get())
                flying -= 1
            self._raise_if_stopped()
            start(copy).add_done_callback(finished.put)
            flying += 1
        for _ in range(flying):
            self._settle(finished.get())

    def _settle(self, finished: Future[None]) -> None:
        try:
            finished.result()
        except TransferCancelled:
            self._raise_if_stopped()  # what stopped it (a full disk), rather than that it stopped
            raise

    def _start(self, pool: ThreadPoolExecutor, copy: ImageCopy, then: Callable[[_Image, Future[None]], None]) -> Future[None]:
        """Read the image's manifests on the pool, then hand it to `then`, which completes the future returned
        when the image is done (at once, or from the worker that finishes its last blob)."""
        done: Future[None] = Future()

        def begin() -> None:
            try:
                image = self._prepare(copy)
                if image is None:
                    done.set_result(None)
                else:
                    then(image, done)
            except BaseException as error:  # noqa: BLE001 - handed to the driving thread through the future
                done.set_exception(error)

        pool.submit(begin)
        return done

    def _measure(self, image: _Image, done: Future[None]) -> None:
        """For a dry run: count the image's blobs, and check those the target may lack (HEAD only)."""
        target = image.copy.target
        with self._lock:
            claimed = self._meet(image)
            table = self._blobs_at(target)
            for key in claimed:
                table[key] = None
        self._tell_planned()
        blobs = {blob_key(blob.digest): blob for blob in image.blobs()}
        for key in claimed:
            with self._limit(target.store):
                present = target.store.blob_size(target.repository, blobs[key].digest) is not None
            if not present:
                with self._lock:
                    self.summary.blobs_missing += 1
                    self.summary.bytes_missing += blobs[key].size
        done.set_result(None)

    def _copy(self, pool: ThreadPoolExecutor, image: _Image, done: Future[None]) -> None:
        """Copy the blobs the image needs that no other image has started, and push it as soon as the last of
        its blobs is in, in the worker thread that finished that blob (at once when it waits for none); an
        `after_all` image is left for the driving thread to push instead."""
        target = image.copy.target
        started: list[tuple[BlobKey, Future[str]]] = []
        blobs = {blob_key(blob.digest): blob for blob in image.blobs()}
        with self._lock:
            claimed = self._meet(image)
            table = self._blobs_at(target)
            if not image.present:
                for key in blobs:
                    state = table.get(key)
                    if key in claimed:
                        state = pool.submit(self._copy_blob, image.copy.source, target, blobs[key])
                        table[key] = state
                        started.append((key, state))
                    if isinstance(state, Future) and state not in image.waited:
                        image.waited.append(state)
        self._tell_planned()
        for key, future in started:  # outside the lock: a callback on a finished future runs at once
            future.add_done_callback(functools.partial(self._blob_finished, table, key))
        remaining = [len(image.waited)]

        def push() -> None:
            try:
                self._raise_if_stopped()  # blobs cancelled by a stop: their image is not pushed, the stop is told
                if image.copy.after_all:
                    with self._lock:
                        self._last.append(image)
                else:
                    self._push_image(image)
            except BaseException as error:  # noqa: BLE001 - handed to the driving thread through the future
                done.set_exception(error)
            else:
                done.set_result(None)

        def blob_done(_: Future[str]) -> None:
            with self._lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                push()

        if not image.waited:
            push()
        for future in image.waited:
            future.add_done_callback(blob_done)

    def _blob_finished(self, table: dict[BlobKey, BlobState], key: BlobKey, future: Future[str]) -> None:
        """A blob verified present is kept only as such; a failed one keeps its future, so that every image
        that needs it fails with its error and it is not tried again."""
        if not future.cancelled() and future.exception() is None:
            with self._lock:
                table[key] = None

    def _count_present_only(self) -> None:
        """Blobs that only images the target already has named: present, though never checked."""
        with self._lock:
            present = [(key, size) for table in self._blobs.values() for key, size in table.items()
                       if isinstance(size, int)]
        for key, size in present:
            self._count("skipped", blob_digest(key), size)

    def _tell_planned(self) -> None:
        with self._planning:
            self.progress.planned(self.summary.images, self.summary.blobs_total, self.summary.bytes_total)

    def _push_last(self, image: _Image) -> None:
        """An `after_all` image: pushed only when no image has failed (checked after all others were pushed)."""
        with self._lock:
            failed = len(self.summary.images_failed)
        if not failed:
            self._push_image(image)
            return
        self._fail(image.copy.name, f"not pushed, because {failed} other image{'s' if failed > 1 else ''} failed")
        self.progress.image_done(image.copy.name, False)

    def _push_image(self, image: _Image) -> None:
        """Put an image's manifests (its blobs are in); one already at the target by digest gets only its tags."""
        copy = image.copy
        target = copy.target
        try:
            # the blob futures' callbacks refer to this image: once it lets go of them, no cycle holds it, and
            # it is freed as soon as it is done rather than at the next full collection
            waited, image.waited = image.waited, []
            for future in waited:
                future.result()
            for child in image.children:
                if not image.present:
                    self._put_manifest(target, child.digest, child)
                self._tell(target, child.digest, child.digest)
            if not image.present and not copy.tags:  # a manifest put under a tag is stored by its digest too
                self._put_manifest(target, image.top.digest, image.top)
            if not copy.tags:
                self._tell(target, image.top.digest, image.top.digest)
            for tag in copy.tags:
                self._put_manifest(target, tag, image.top)
                self._tell(target, tag, image.top.digest)
        except OkdReleaseError as error:
            self._raise_if_stopped()
            self._fail(copy.name, str(error))
            self.progress.image_done(copy.name, False)
            return
        if self.keep_digests:
            with self._lock:
                self.summary.digests[copy.name] = image.top.digest
        self.progress.image_done(copy.name, True)

    def _tell(self, target: Endpoint, reference: str, digest: str) -> None:
        with self._telling:
            self._pushed(target, reference, digest)

    def _put_manifest(self, target: Endpoint, reference: str, manifest: Manifest) -> None:
        def put() -> None:
            with self._limit(target.store):
                target.store.put_manifest(target.repository, reference, manifest.raw)

        self._retrying(f"push manifest {manifest.digest} to {target}", put, f"manifest {manifest.digest} to {target}")

    def _copy_blob(self, source: Endpoint, target: Endpoint, blob: Descriptor) -> str:
        with self._limit(target.store):
            present = target.store.blob_size(target.repository, blob.digest)
        if present is not None:
            self._count("skipped", blob.digest, blob.size)
            return "skipped"
        if self._try_mount(source, target, blob):
            self._count("mounted", blob.digest, blob.size)
            return "mounted"

        def stream() -> None:
            sent = _Meter()
            try:
                with self._limit(source.store, target.store), \
                        source.store.open_blob(source.repository, blob) as chunks:
                    resumed = self._resuming(chunks, f"blob {blob.digest} from {source}")
                    target.store.put_blob(target.repository, blob, self._counted(resumed, sent))
            except BaseException:
                if sent.bytes:  # an attempt that did not complete: its bytes are sent again, or not at all
                    self.progress.transferred(-sent.bytes)
                raise

        self._retrying(f"copy blob {blob.digest} from {source} to {target}", stream, f"blob {blob.digest} to {target}")
        self._count("copied", blob.digest, blob.size)
        return "copied"

    def _try_mount(self, source: Endpoint, target: Endpoint, blob: Descriptor) -> bool:
        if source.store.key != target.store.key or source.repository == target.repository:
            return False
        if not target.store.mounts_across_repositories:
            return False
        try:
            with self._limit(target.store):
                return target.store.mount_blob(target.repository, blob.digest, source.repository)
        except OkdReleaseError as error:
            logs.debug(__name__, "mount of %s failed, copying instead: %s", blob.digest, error)
            return False

    def _counted(self, chunks: Iterable[bytes], sent: _Meter) -> Iterator[bytes]:
        """Report progress chunk by chunk, and stop the stream between chunks once the transfer is cancelled."""
        for chunk in chunks:
            self._check_cancelled()
            sent.bytes += len(chunk)
            self.progress.transferred(len(chunk))
            yield chunk

    def _resuming(self, chunks: Iterator[bytes], what: str) -> Iterator[bytes]:
        """The blob's chunks, a download cut off mid-body continued where it stopped (BlobCut.resume: a Range
        request), after the policy's wait, as a retry: the target never sees the cut, so a file on disk keeps
        what it has and an upload goes on with the rest, and nothing that arrived is fetched again."""
        attempt = 0
        while True:
            try:
                yield from chunks
                return
            except BlobCut as cut:
                attempt += 1
                if attempt >= self.retry.attempts:
                    raise
                logs.debug(__name__, "%s: %s; continuing where it stopped", what, cut)
                self.retries.add()
                self._pause(self.retry.backoff(attempt - 1, cut.retry_after))
                chunks = cut.resume()

    def _retrying(self, what: str, operation: Callable[[], None], writing: str) -> None:
        """Streams cannot be replayed inside one request: a transfer that failed otherwise than by a cut
        download (`_resuming`) is redone from the start.

        `writing` names what is written, for the error that ends the transfer when the target cannot be.
        """
        attempt = 0
        while True:
            try:
                operation()
                return
            except (TransientRegistryError, DigestMismatch, ManifestBlobUnknown, OSError) as error:
                if isinstance(error, OSError) and error.errno in UNWRITABLE:
                    raise self._stop_unwritable(error, writing) from None
                attempt += 1
                exhausted = isinstance(error, TransientRegistryError) and error.exhausted
                # a digest mismatch is tried once more; a manifest whose blobs the registry does not see yet
                # (they were just verified present: another writer is committing one) a few times more
                limited = (isinstance(error, DigestMismatch) and attempt >= 2
                           or isinstance(error, ManifestBlobUnknown) and attempt >= 4)
                if exhausted or attempt >= self.retry.attempts or limited:
                    raise TransferError(f"{what}: {error}") from None
                retry_after = error.retry_after if isinstance(error, TransientRegistryError) else None
                self.retries.add()
                self._pause(self.retry.backoff(attempt - 1, retry_after))

    def _pause(self, seconds: float) -> None:
        """Wait before a retry through the policy's (injectable) sleep, in short steps so a cancel is not waited out."""
        while seconds > 0:
            self._check_cancelled()
            step = min(seconds, PAUSE_STEP)
            self.retry.sleep(step)
            seconds -= step
        self._check_cancelled()

    def _stop_unwritable(self, error: OSError, writing: str) -> TargetUnwritable:
        """The first such error ends the transfer: it is the one reported, and everything else is cancelled."""
        with self._lock:
            if self._fatal is None:
                reason = os.strerror(error.errno or 0)
                self._fatal = TargetUnwritable(f"{reason[:1].lower()}{reason[1:]} writing {writing}")
            fatal = self._fatal
        self.cancel()
        return fatal

    def _check_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise TransferCancelled("transfer cancelled")

    def _raise_if_stopped(self) -> None:
        """In the thread that drives the transfer: once it is stopped, an image's failure is not its own but
        the stop's, so end the transfer with what stopped it (the pool then cancels the rest)."""
        if self._fatal is not None:
            raise self._fatal from None
        self._check_cancelled()

    def _retry_count(self) -> int:
        return (self._session_retries or self.retries).count

    def _count(self, outcome: str, digest: str, size: int) -> None:
        with self._lock:
            if outcome == "copied":
                self.summary.blobs_copied += 1
                self.summary.bytes_copied += size
            elif outcome == "mounted":
                self.summary.blobs_mounted += 1
            else:
                self.summary.blobs_skipped += 1
        self.progress.blob_done(digest, size, outcome)

    def _fail(self, name: str, message: str) -> None:
        with self._lock:
            self.summary.images_failed.append(name)
            self.summary.errors.append(f"{name}: {message}")

    @contextlib.contextmanager
    def _limit(self, *stores: ImageStore) -> Iterator[None]:
        """Hold one slot of each distinct store, always taken in the same order so that none deadlock.

        A cancelled transfer starts nothing new: the check follows the wait for the slots.
        """
        with contextlib.ExitStack() as stack:
            for key in sorted({store.key for store in stores}):
                stack.enter_context(self._slots(key))
            self._check_cancelled()
            yield

    def _slots(self, key: str) -> threading.Semaphore:
        """The one semaphore of a store, made under the lock: two threads must never make one each."""
        with self._lock:
            slots = self._limits.get(key)
            if slots is None:
                slots = self._limits[key] = threading.Semaphore(self.max_per_registry)
            return slots

    @contextlib.contextmanager
    def _pool(self, workers: int) -> Iterator[ThreadPoolExecutor]:
        """A thread pool that, when the block ends by an exception (Ctrl-C included), cancels the transfer:
        queued jobs are dropped and running ones end at their next chunk or slot, before the exception goes on."""
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            yield pool
        except BaseException:
            self.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


BlobKey = bytes
"""A blob at one target, by its digest as raw bytes (a sha256 digest's 32 bytes, any other digest's text
encoded): each is copied or checked once per target and transfer. A transfer of thousands of images keeps
one per distinct blob, so it is kept small (a sha256 digest's text is over twice the size)."""

_SHA256 = "sha256:"


def blob_key(digest: str) -> BlobKey:
    if digest.startswith(_SHA256) and len(digest) == 71 and digest.islower():
        with contextlib.suppress(ValueError):
            return bytes.fromhex(digest[7:])
    return digest.encode()


def blob_digest(key: BlobKey) -> str:
    """The digest `blob_key` made `key` of."""
    return _SHA256 + key.hex() if len(key) == 32 else key.decode()


class _Meter(Struct):
    """Bytes streamed by one attempt, so that a failed attempt's bytes can be taken back from progress."""

    bytes: int = 0
