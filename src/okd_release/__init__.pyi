# The types of okd_release's public API, for mypy and editors. At run time __init__.py imports each name on
# first use (so `import okd_release` stays fast); tests/test_library_examples.py checks that both agree.
from okd_release.content import Platform as Platform
from okd_release.errors import AuthenticationError as AuthenticationError
from okd_release.errors import ConfigError as ConfigError
from okd_release.errors import DigestMismatch as DigestMismatch
from okd_release.errors import InvalidReference as InvalidReference
from okd_release.errors import ManifestError as ManifestError
from okd_release.errors import NotFound as NotFound
from okd_release.errors import OkdReleaseError as OkdReleaseError
from okd_release.errors import PayloadError as PayloadError
from okd_release.errors import RegistryError as RegistryError
from okd_release.errors import TransferError as TransferError
from okd_release.errors import TransientRegistryError as TransientRegistryError
from okd_release.image.unpack import UnpackResult as UnpackResult
from okd_release.reference import Reference as Reference
from okd_release.reference import parse as parse_reference
from okd_release.registry.options import RegistryOptions as RegistryOptions
from okd_release.registry.options import RetryPolicy as RetryPolicy
from okd_release.registry.session import Registries as Registries
from okd_release.release.extract.manifests import extract_manifests as extract_manifests
from okd_release.release.extract.manifests import manifest_file as manifest_file
from okd_release.release.extract.tools import ExtractedTool as ExtractedTool
from okd_release.release.extract.tools import extract_tools as extract_tools
from okd_release.release.extract.tools import select_targets as select_targets
from okd_release.release.info.describe import ComponentVersion as ComponentVersion
from okd_release.release.info.describe import ImageEntry as ImageEntry
from okd_release.release.info.describe import ReleaseInfo as ReleaseInfo
from okd_release.release.info.describe import describe as describe
from okd_release.release.info.diff import ReleaseDiff as ReleaseDiff
from okd_release.release.info.diff import diff_releases as diff_releases
from okd_release.release.mirror.instructions import MirrorSource as MirrorSource
from okd_release.release.mirror.plan import MirrorOptions as MirrorOptions
from okd_release.release.mirror.plan import MirrorResult as MirrorResult
from okd_release.release.mirror.plan import run_mirror as run_mirror
from okd_release.release.new.plan import NewOptions as NewOptions
from okd_release.release.new.plan import PlannedRelease as PlannedRelease
from okd_release.release.new.plan import plan_release as plan_release
from okd_release.release.new.publish import PublishedRelease as PublishedRelease
from okd_release.release.new.publish import push_release as push_release
from okd_release.release.new.publish import release_digest as release_digest
from okd_release.release.new.publish import write_to_dir as write_to_dir
from okd_release.release.new.publish import write_to_file as write_to_file
from okd_release.release.payload.model import Payload as Payload
from okd_release.release.payload.source import ReleaseImage as ReleaseImage
from okd_release.release.payload.source import open_payload_dir as open_payload_dir
from okd_release.release.payload.source import open_payload_file as open_payload_file
from okd_release.release.payload.source import open_release as open_release
from okd_release.transfer import IncompleteTransfer as IncompleteTransfer
from okd_release.transfer import TransferSummary as TransferSummary

__version__: str

__all__ = [
    "__version__",
    "Registries", "RegistryOptions", "RetryPolicy",
    "Reference", "parse_reference", "Platform",
    "ReleaseImage", "open_release", "open_payload_dir", "open_payload_file", "Payload",
    "describe", "ReleaseInfo", "ImageEntry", "ComponentVersion", "diff_releases", "ReleaseDiff",
    "NewOptions", "PlannedRelease", "plan_release", "push_release", "PublishedRelease", "release_digest",
    "write_to_dir", "write_to_file",
    "extract_manifests", "manifest_file", "UnpackResult", "extract_tools", "select_targets", "ExtractedTool",
    "MirrorOptions", "MirrorResult", "run_mirror", "MirrorSource", "TransferSummary",
    "OkdReleaseError", "InvalidReference", "RegistryError", "TransientRegistryError", "AuthenticationError",
    "NotFound", "DigestMismatch", "ManifestError", "PayloadError", "ConfigError", "TransferError",
    "IncompleteTransfer",
]

def __dir__() -> list[str]: ...
