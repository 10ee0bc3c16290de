"""Where a release's code came from and what changed in it: clones of the sources (`git`), changelogs and
bug references between releases (`changelog`, `commits`, `bugs`) and the OS packages (`rpmdb`)."""
