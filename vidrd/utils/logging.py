"""One logger for the package: mmengine's current logger inside a Runner, else a plain one."""
import logging

from mmengine.logging import MMLogger


def get_logger() -> logging.Logger:
    if MMLogger.check_instance_created('mmengine') or MMLogger._instance_dict:
        return MMLogger.get_current_instance()
    return MMLogger.get_instance('vidrd', log_level='INFO')
