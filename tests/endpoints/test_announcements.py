"""Announcements on one host: a stamp file every process maps into memory (``cluster.announcements``).

Each worker process maps the file once; an announcement writes new bytes into it, which every
other mapping of the file shows at once, without a system call per check.
"""

import logging
import os

import pytest

from cluster.announcements import Announcement


@pytest.fixture
def host(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def test_another_process_on_the_host_sees_an_announcement_at_once(host):
    here, there = Announcement("example"), Announcement("example")  # two processes' own objects
    before = there.version()
    here.announce()
    assert there.version() != before
    assert there.version() == there.version()  # and then stays put until the next one
    assert (host / "example.stamp").stat().st_size == 16


def test_a_stamp_file_left_by_an_older_version_is_taken_as_it_is(host):
    os.makedirs(host)
    (host / "example.stamp").write_text("0123456789abcdef")  # what replaced files held before
    reader = Announcement("example")
    before = reader.version()
    assert before[0] == b"0123456789abcdef"
    Announcement("example").announce()
    assert reader.version()[0] != before[0]


def test_without_a_usable_folder_changes_fall_back_on_the_time_bound(settings, tmp_path, caplog):
    (tmp_path / "a-file").write_text("")
    settings.VAR_DIR = tmp_path / "a-file" / "var"  # no folder can be made there, whoever runs this
    caplog.set_level(logging.WARNING)
    announcement = Announcement("example")
    announcement.announce()  # never raises
    assert announcement.version()[0] == b""
    assert "could not map" in caplog.text
