"""atomic_write (vidrd/utils/io.py): the content appears only when the write succeeds."""
import os
import stat

import pytest
import torch

from vidrd.utils.io import atomic_write


def leftovers(folder) -> list:
    return sorted(name for name in os.listdir(folder) if name.endswith('.tmp'))


def test_text_appears_only_after_the_block(tmp_path):
    path = tmp_path / 'sub' / 'table.json'
    with atomic_write(str(path), 'w') as file:
        file.write('{"a": 1}\n')
        assert not path.exists()  # still under the temporary name
        assert os.path.dirname(file.name) == str(tmp_path / 'sub')
    assert path.read_text(encoding='utf-8') == '{"a": 1}\n'
    assert leftovers(tmp_path / 'sub') == []


def test_binary_and_a_path_based_writer(tmp_path):
    path = tmp_path / 'blob.bin'
    with atomic_write(str(path)) as file:
        file.write(b'\x00\x01\xff')
    assert path.read_bytes() == b'\x00\x01\xff'
    checkpoint = tmp_path / 'state.pth'
    with atomic_write(str(checkpoint)) as file:
        torch.save({'w': torch.arange(3)}, file)
    with atomic_write(str(tmp_path / 'by_name.pth')) as file:
        torch.save({'w': torch.arange(4)}, file.name)
    assert torch.load(str(checkpoint))['w'].tolist() == [0, 1, 2]
    assert torch.load(str(tmp_path / 'by_name.pth'))['w'].tolist() == [0, 1, 2, 3]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize('mode,old,new', [('w', 'old text', 'new te'), ('wb', b'old', b'ne')])
def test_an_error_leaves_the_original_and_no_temporary_file(tmp_path, mode, old, new):
    path = tmp_path / 'file'
    if 'b' in mode:
        path.write_bytes(old)
    else:
        path.write_text(old)
    with pytest.raises(RuntimeError, match='killed'):
        with atomic_write(str(path), mode) as file:
            file.write(new)
            file.flush()
            raise RuntimeError('killed mid-write')
    assert (path.read_bytes() if 'b' in mode else path.read_text()) == old
    assert leftovers(tmp_path) == []


def test_an_interrupt_of_a_new_file_leaves_nothing(tmp_path):
    path = tmp_path / 'new.bin'
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(str(path)) as file:
            file.write(b'partial')
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_a_writer_that_closes_its_handle(tmp_path):
    path = tmp_path / 'closed.bin'
    with atomic_write(str(path)) as file:
        file.write(b'done')
        file.close()
    assert path.read_bytes() == b'done'


def test_permissions_are_those_of_a_plain_open(tmp_path):
    plain = tmp_path / 'plain'
    plain.write_bytes(b'')
    with atomic_write(str(tmp_path / 'atomic')) as file:
        file.write(b'')
    mode = stat.S_IMODE(os.stat(tmp_path / 'atomic').st_mode)
    assert mode == stat.S_IMODE(os.stat(plain).st_mode)
    os.chmod(plain, 0o640)  # replacing a file keeps its permissions
    with atomic_write(str(plain)) as file:
        file.write(b'x')
    assert stat.S_IMODE(os.stat(plain).st_mode) == 0o640


def test_refuses_a_mode_that_is_no_whole_write(tmp_path):
    for mode in ('a', 'r', 'r+b', 'x'):
        with pytest.raises(ValueError, match='mode'):
            with atomic_write(str(tmp_path / 'f'), mode):
                pass
    with pytest.raises(ValueError, match='text mode'):
        with atomic_write(str(tmp_path / 'f'), 'wb', encoding='utf-8'):
            pass
    assert os.listdir(tmp_path) == []


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    from vidrd.utils.io import atomic_folder
    target = tmp_path / 'export'
    with atomic_folder(str(target)) as folder:
        (tmp_path / 'x').touch()
        os.makedirs(folder)  # the writer creates it, as it would create the target
        with open(os.path.join(folder, 'a.json'), 'w') as f:
            f.write('1')
        assert not target.exists()
    assert os.listdir(target) == ['a.json']
    with pytest.raises(RuntimeError):
        with atomic_folder(str(target)) as folder:
            os.makedirs(folder)
            with open(os.path.join(folder, 'b.json'), 'w') as f:
                f.write('2')
            raise RuntimeError('killed mid-export')
    assert os.listdir(target) == ['a.json']  # the previous export, untouched
    with atomic_folder(str(target)) as folder:
        os.makedirs(folder)
        with open(os.path.join(folder, 'c.json'), 'w') as f:
            f.write('3')
    assert os.listdir(target) == ['c.json']  # nothing of the previous one is mixed in
    assert sorted(os.listdir(tmp_path)) == ['export', 'x']  # no temporary folder left
